"""The report's section on the LLM researcher's troubles: each heuristic fallback and each prompt cut, one row each.

A ``researcher_fallback`` event is a plan (or repair) the heuristic made because the LLM failed, with the cause
(``LLMError.kind``); a ``prompt_cut`` event is a part of a prompt left out because the prompt overflowed the model's
context (``trex.agents.llm.shrink``). Both are recorded against the node whose child was being planned (none for
the root plan or a repair). Empty when the run had neither. Everything is HTML-escaped.
"""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

from trex.store import Store

KINDS = ("researcher_fallback", "prompt_cut")
ERROR_CHARS = 200


def _where(event: dict[str, Any]) -> str:
    node = event["node_id"]
    return f'child of <a href="#node-{node}">node {node}</a>' if node is not None else "root or repair"


def _row(event: dict[str, Any]) -> str:
    data = event["data"]
    what = "heuristic fallback" if event["kind"] == "researcher_fallback" else "prompt cut"
    cause = data.get("cause") if event["kind"] == "researcher_fallback" else f"cut {data.get('cut')}"
    when = dt.datetime.fromtimestamp(event["ts"], dt.UTC).strftime("%H:%M:%S")
    error = str(data.get("error", ""))[:ERROR_CHARS]
    cells = [html.escape(str(c)) for c in (when, what, data.get("during", ""))]
    cells += [_where(event), html.escape(str(cause or "")), html.escape(error)]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def llm_events_section(store: Store) -> str:
    """The fallbacks and prompt cuts of the run in time order, or "" when there were none."""
    events = sorted((e for kind in KINDS for e in store.events(kind)), key=lambda e: e["id"])
    if not events:
        return ""
    fallbacks = sum(e["kind"] == "researcher_fallback" for e in events)
    head = "".join(f"<th>{h}</th>" for h in ("time (UTC)", "event", "step", "node", "cause", "error"))
    return (
        f"<h2>LLM researcher: {fallbacks} fallbacks, {len(events) - fallbacks} prompt cuts</h2>"
        "<p class='note'>A fallback: the LLM gave no valid answer, so the heuristic planned that one step. "
        "A cut: the prompt overflowed the model's context, so a part was left out and the LLM asked again.</p>"
        f"<table class='llm-events'><tr>{head}</tr>{''.join(_row(e) for e in events)}</table>"
    )
