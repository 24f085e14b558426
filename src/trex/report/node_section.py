"""One node's section of the report (``#node-N``): what was tried, how it did, and why.

Shows the strategy, rationale and change; each job's validation score with its 95% interval (and the
test score, which only reports show); the configs side by side, with the fields that differ from
the parent's best config marked; the recipe and the best job's per-step data statistics; the best
job's validation bad cases; the node's insights or error; and the end of every job's log. Reads
job folders on disk when they exist and says so when they do not. Everything is HTML-escaped.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from trex.evaluation.ranking import best_config
from trex.report.status import format_value
from trex.store import Store

LOG_LINES = 15
BAD_CASES = 8


def _e(value: Any) -> str:
    return html.escape(value if isinstance(value, str) else format_value(value))


def _score(split: dict[str, Any] | None) -> str:
    if not split:
        return "–"
    s = split["score"]
    if s.get("low") is None or s.get("high") is None:
        return f"{s['value']:.3f}"
    return f"{s['value']:.3f} [{s['low']:.3f}, {s['high']:.3f}]"


def _jobs(store: Store, node_id: int) -> list[dict[str, Any]]:
    rows = []
    for row in store.node_jobs(node_id):
        spec = json.loads(row["spec"])
        result = json.loads(row["result"]) if row["result"] else None
        rows.append({**row, "spec": spec, "result": result})
    return rows


def _best(jobs: list[dict[str, Any]]) -> dict[str, Any] | None:
    trained = [j for j in jobs if j["result"] and j["result"].get("status", "ok") == "ok" and j["spec"].get("train")]
    return best_config(trained, _val, _last_loss)


def _val(job: dict[str, Any]) -> float | None:
    validation = job["result"].get("validation")
    return validation["score"]["value"] if validation else None


def _last_loss(job: dict[str, Any]) -> float | None:
    losses = (job["result"].get("train") or {}).get("losses") or []
    return losses[-1][1] if losses else None


def _configs_table(jobs: list[dict[str, Any]], parent_train: dict[str, Any] | None) -> str:
    trained = [j for j in jobs if j["spec"].get("train")]
    if not trained:
        return ""
    fields = sorted({k for j in trained for k in j["spec"]["train"]})
    varying = [
        f
        for f in fields
        if len({json.dumps(j["spec"]["train"].get(f)) for j in trained}) > 1
        or (parent_train is not None and any(j["spec"]["train"].get(f) != parent_train.get(f) for j in trained))
    ]
    shown = varying or fields[:6]
    head = "".join(f"<th>{_e(j['name'])}</th>" for j in trained)
    body = []
    for f in shown:
        cells = []
        for j in trained:
            value = j["spec"]["train"].get(f)
            changed = parent_train is not None and value != parent_train.get(f)
            cells.append(f'<td class="{"changed" if changed else ""}">{_e(json.dumps(value))}</td>')
        body.append(f"<tr><th>{_e(f)}</th>{''.join(cells)}</tr>")
    note = "fields that vary between configs or from the parent's best; marked: differs from the parent"
    return f"<p class='note'>{note}</p><table class='configs'><tr><th>field</th>{head}</tr>{''.join(body)}</table>"


def _recipe(recipe: dict[str, Any] | None, parent_recipe: dict[str, Any] | None) -> str:
    if not recipe:
        return ""
    parent_ops = [json.dumps(s, sort_keys=True) for s in (parent_recipe or {}).get("steps", [])]
    items = []
    for step in recipe.get("steps", []):
        new = parent_recipe is not None and json.dumps(step, sort_keys=True) not in parent_ops
        args = json.dumps(step.get("args", {}), ensure_ascii=False)
        items.append(f"<li class='{'changed' if new else ''}'><code>{_e(step['op'])}</code> {_e(args)}</li>")
    return f"<ol class='recipe'>{''.join(items)}</ol>"


def _data_stats(result: dict[str, Any] | None) -> str:
    stats = (result or {}).get("data_stats") or []
    if not stats:
        return ""
    rows = "".join(
        f"<tr><td>{s['step']}</td><td>{_e(s['op'])}</td><td>{s['rows_in']}</td><td>{s['rows_out']}</td>"
        f"<td>{_e(s.get('reason') or '')}</td><td>{_e(_origins(s))}</td></tr>"
        for s in stats
    )
    head = (
        "<th>step</th><th>operator</th><th>in</th><th>out</th><th>dropped because</th><th>rows by source, label</th>"
    )
    return f"<table><tr>{head}</tr>{rows}</table>"


def _origins(step: dict[str, Any]) -> str:
    """A built training set's rows by source and by label after a step (empty for a file's rows)."""
    parts = [", ".join(f"{k} {v}" for k, v in (step.get(key) or {}).items()) for key in ("sources", "labels")]
    return "; ".join(p for p in parts if p)


def _bad_cases(job: dict[str, Any] | None) -> str:
    if job is None or not job.get("workdir"):
        return ""
    path = Path(job["workdir"]) / "badcases.jsonl"
    if not path.exists():
        return "<p class='note'>bad cases: the job folder is not on this machine</p>"
    cases = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[:BAD_CASES] if line.strip()]
    if not cases:
        return "<p class='note'>no bad case on validation</p>"
    rows = "".join(
        f"<tr><td>{_e(c['input'][:300])}</td><td>{_e(c['expected'][:120])}</td><td>{_e(c['predicted'][:120])}</td></tr>"
        for c in cases
    )
    return f"<table class='badcases'><tr><th>input</th><th>expected</th><th>predicted</th></tr>{rows}</table>"


def _logs(jobs: list[dict[str, Any]]) -> str:
    parts = []
    for j in jobs:
        path = Path(j["workdir"]) / "log.txt" if j.get("workdir") else None
        if path is None or not path.exists():
            continue
        tail = path.read_text(encoding="utf-8", errors="replace").splitlines()[-LOG_LINES:]
        parts.append(
            f"<details><summary>log of {_e(j['name'])}</summary><pre>{_e(chr(10).join(tail))}</pre></details>"
        )
    return "".join(parts)


def _score_row(job: dict[str, Any]) -> str:
    result = job["result"] or {}
    cells = [
        _e(job["name"]),
        _e(job["status"]),
        _score(result.get("validation")),
        _score(result.get("test")) if result.get("test") else "not scored",
        _e((result.get("error") or "")[:300]),
    ]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def node_section(store: Store, node: dict[str, Any], best_id: int | None) -> str:
    row = store.node_row(node["id"])
    plan = json.loads(row["plan"])
    jobs = _jobs(store, node["id"])
    best_job = _best(jobs)
    parent_train, parent_recipe = None, None
    if node["parent"] is not None:
        parent_best = _best(_jobs(store, node["parent"]))
        if parent_best is not None:
            parent_train, parent_recipe = parent_best["spec"]["train"], parent_best["spec"].get("recipe")
    scores = "".join(_score_row(j) for j in jobs)
    is_best = node["id"] == best_id
    commands = ""
    if is_best:
        ws = html.escape(str(store.workspace))
        commands = (
            f"<p><b>Reuse the best node:</b></p><pre>trex replay {ws} {node['id']}\n"
            f"trex export {ws} --node {node['id']} --out tuned-model</pre>"
        )
    title = f"node {node['id']}: {_e(plan.get('strategy', ''))}: {_e(plan.get('change', ''))}"
    return (
        f'<details class="node" id="node-{node["id"]}"{" open" if is_best else ""}><summary>{title}'
        f"{' ★ best' if is_best else ''} ({_e(node['status'])}, val {_e(node['val_score'])})"
        f"{' ⚠ general drift past max_drop' if (node.get('drift') or {}).get('flagged') else ''}</summary>"
        f"<p><b>Rationale:</b> {_e(plan.get('rationale', ''))}</p>"
        f"<table><tr><th>config</th><th>status</th><th>validation [95% CI]</th><th>test</th><th>error</th></tr>"
        f"{scores}</table><p><small>The test split is scored only for the base model and for a node's winning "
        f"config once that node is the run's best.</small></p>"
        f"{_configs_table(jobs, parent_train)}"
        f"<p><b>Recipe</b> (marked: not in the parent's best recipe)</p>"
        f"{_recipe((best_job or {}).get('spec', {}).get('recipe') or plan.get('recipe'), parent_recipe)}"
        f"{_data_stats((best_job or {}).get('result'))}"
        f"<p><b>Bad cases</b> (validation, best config)</p>{_bad_cases(best_job)}"
        f"<p><b>Insights</b></p><pre>{_e(row['insights'] or row['error'] or '')}</pre>"
        f"{commands}{_logs(jobs)}</details>"
    )
