"""The static HTML report: ``<workspace>/report.html``, self-contained (no CDN, no script).

Shows the base model's and the best node's scores, the tree, a table of nodes (visits, value,
reward, validation and test scores) and each node's plan, configs and insights. Written
atomically, so a reader never sees half a report; rewritten after every iteration.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from trex import __version__
from trex.bench.gain import GainError, normalized_gain
from trex.report.status import STATUS_KEYS, format_value, run_status, usage_line
from trex.store import Store


def _fmt(value: Any) -> str:
    return html.escape(format_value(value))


def _tree_text(nodes: list[dict[str, Any]], best_id: int | None) -> str:
    children: dict[int | None, list[dict[str, Any]]] = {}
    for node in nodes:
        children.setdefault(node["parent"], []).append(node)
    lines: list[str] = []

    def walk(parent: int | None, prefix: str) -> None:
        kids = children.get(parent, [])
        for i, node in enumerate(kids):
            last = i == len(kids) - 1
            branch = "" if parent is None else ("└─ " if last else "├─ ")
            mark = " ★" if node["id"] == best_id else ""
            lines.append(f"{prefix}{branch}{node['id']} {node['strategy']} val {_fmt(node['val_score'])}{mark}")
            walk(node["id"], prefix + ("" if parent is None else ("   " if last else "│  ")))

    walk(None, "")
    return html.escape("\n".join(lines))


def _val(result_json: str | None) -> float | None:
    result = json.loads(result_json) if result_json else {}
    return result["validation"]["score"]["value"] if result.get("validation") else None


def _details(store: Store, node: dict[str, Any]) -> str:
    row = store.node_row(node["id"])
    plan = json.loads(row["plan"])
    configs = "".join(
        f"<tr><td>{html.escape(j['name'])}</td><td>{html.escape(j['status'])}</td><td>{_fmt(_val(j['result']))}</td>"
        f"<td><code>{html.escape(j['hash'])}</code></td></tr>"
        for j in store.node_jobs(node["id"])
    )
    return (
        f"<details><summary>node {node['id']}: {html.escape(plan.get('strategy', ''))}: "
        f"{html.escape(plan.get('change', ''))}</summary>"
        f"<p>{html.escape(plan.get('rationale', ''))}</p>"
        f"<table><tr><th>config</th><th>status</th><th>validation</th><th>job</th></tr>{configs}</table>"
        f"<pre>{html.escape(row['insights'] or row['error'] or '')}</pre>"
        f"<pre>{html.escape(json.dumps(plan, indent=1))}</pre></details>"
    )


def _gain(best: dict[str, Any], base: dict[str, Any], reference: float | None) -> str:
    if reference is None or best.get("test_score") is None or base.get("test") is None:
        return "–"
    try:
        return f"{normalized_gain(best['test_score'], base['test'], reference):.3f}"
    except GainError as exc:
        return html.escape(str(exc))


def _stopped(stopped: dict[str, Any] | None) -> str:
    if not stopped:
        return "running (or killed)"
    return stopped["reason"] + (f" (limit: {stopped['limit']})" if stopped.get("limit") else "")


def render_report(store: Store) -> str:
    status = run_status(store)
    best = status["best"] or {}
    base = status["base"] or {}
    reference = store.get_meta("reference_score")
    rows = "".join(
        f'<tr class="{"best" if n["id"] == best.get("id") else n["status"]}">'
        + "".join(f"<td>{_fmt(n[k])}</td>" for k in STATUS_KEYS)
        + "</tr>"
        for n in status["nodes"]
    )
    template = Template(resources.files("trex.report").joinpath("template.html").read_text(encoding="utf-8"))
    return template.substitute(
        task=html.escape(status["task"]),
        objective=html.escape(store.get_meta("objective", "")),
        base_val=_fmt(base.get("val")),
        base_test=_fmt(base.get("test")),
        best_id=_fmt(best.get("id")),
        best_val=_fmt(best.get("val_score")),
        best_test=_fmt(best.get("test_score")),
        n_nodes=len(status["nodes"]),
        usage=html.escape(usage_line(status["usage"])),
        stopped=html.escape(_stopped(status["stopped"])),
        reference=_fmt(reference),
        gain=_gain(best, base, reference),
        tree=_tree_text(status["nodes"], best.get("id")),
        rows=rows,
        details="".join(_details(store, n) for n in status["nodes"]),
        version=__version__,
        written=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def write_report(store: Store) -> Path:
    path = store.workspace / "report.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render_report(store), encoding="utf-8")
    tmp.replace(path)
    return path
