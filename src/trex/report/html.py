"""The HTML report: ``<workspace>/report.html``, self-contained (no CDN; one small inline script).

Shows the base model's, the best node's and the reference's scores with the normalized gain, the
budget used and why the run stopped; the tree as a picture (nodes coloured by reward, marked by
strategy and status, with visits and mean value, the path to the best node in bold; a click opens
the node's section); the best-so-far curve; each node's gain against the run's cumulative cost with the cost
ledger (``trex.report.spend``); each node's general-ability drift (``trex.report.drift``); the steering timeline
(``trex.report.timeline``); the table of nodes; the LLM
researcher's fallbacks and prompt cuts (``trex.report.llm_events``); and a section per node
(``trex.report.node_section``). Trees over ``FOCUS`` nodes show the newest ones and the ancestors
of them and of the best node, so the report stays fast. ``live=True`` (``trex serve``) adds a
script that reloads the page when the run adds a node. Written atomically, so a reader never sees
half a report; rewritten after every iteration.
"""

from __future__ import annotations

import datetime as dt
import html
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from trex import __version__
from trex.evaluation.gain import GainError, normalized_gain
from trex.report.drift import drift_section
from trex.report.llm_events import llm_events_section
from trex.report.node_section import node_section
from trex.report.spend import cost_section
from trex.report.status import STATUS_KEYS, focus_nodes, format_value, run_status, usage_line
from trex.report.svg import curve_svg, tree_svg
from trex.report.timeline import steering_section
from trex.report.utilization import utilization_section
from trex.store import Store

FOCUS = 60
# reloads the page when the store has moved on since it was rendered (trex serve only)
LIVE_SCRIPT = """<script>
const shown = %d;
setInterval(async () => {
  try {
    const status = await (await fetch("status.json", {cache: "no-store"})).json();
    if (status.version !== shown) location.reload();
  } catch (e) {}
}, 2000);
</script>"""


def _fmt(value: Any) -> str:
    return html.escape(format_value(value))


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


def render_report(store: Store, live: bool = False) -> str:
    status = run_status(store)
    best = status["best"] or {}
    base = status["base"] or {}
    reference = store.get_meta("reference_score")
    shown = focus_nodes(status["nodes"], best.get("id"), FOCUS)
    focus_note = (
        f"<p class='note'>{len(status['nodes'])} nodes: showing the newest {FOCUS} and the ancestors of them and "
        "of the best node (trex status --all lists every node).</p>"
        if len(shown) < len(status["nodes"])
        else ""
    )
    rows = "".join(
        f'<tr class="{"best" if n["id"] == best.get("id") else n["status"]}">'
        + "".join(f"<td>{_fmt(n[k])}</td>" for k in STATUS_KEYS)
        + "</tr>"
        for n in shown
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
        tree=tree_svg(shown, best.get("id")),
        curve=curve_svg(status["nodes"])
        + utilization_section(store)
        + cost_section(status["nodes"])
        + drift_section(status["nodes"])
        + steering_section(store),
        rows=rows,
        details="".join(node_section(store, n, best.get("id")) for n in reversed(shown)),
        llm_events=llm_events_section(store),
        focus_note=focus_note,
        live=LIVE_SCRIPT % store.last_event_id() if live else "",
        version=__version__,
        written=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def write_report(store: Store) -> Path:
    path = store.workspace / "report.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render_report(store), encoding="utf-8")
    tmp.replace(path)
    return path
