"""The report's general-ability section: each scored node's drift from the base model on the general suite.

One row a node with a figure (``trex status --json`` ``nodes[].drift``, ``trex.evaluation.drift``): the base
model's figure, the node's with its 95% interval, the change (relative rise of perplexity, or drop of accuracy)
with its paired interval, whether it passed ``max_drop`` (and, with ``selection: gate``, was kept from the run's
best), and the seconds the check added to the node's best job. Says so when no node has a figure.
"""

from __future__ import annotations

import html
from typing import Any


def _change(drift: dict[str, Any]) -> str:
    digits = "{:+.1%}" if drift["metric"] == "perplexity" else "{:+.3f}"
    text = digits.format(drift["change"])
    if drift.get("change_ci"):
        low, high = drift["change_ci"]
        text += f" [{digits.format(low)}, {digits.format(high)}]"
    return text


def drift_section(nodes: list[dict[str, Any]]) -> str:
    measured = [n for n in nodes if n.get("drift")]
    title = "<h2>General-ability drift</h2>"
    if not measured:
        return f"{title}<p class='note'>No node has a general-ability figure yet.</p>"
    rows = []
    for n in measured:
        d = n["drift"]
        verdict = ("flagged, kept from best" if d["gate"] else "flagged") if d["flagged"] else "within"
        cells = [
            str(n["id"]),
            d["metric"],
            f"{d['base']:.3f}",
            f"{d['value']:.3f} [{d['ci'][0]:.3f}, {d['ci'][1]:.3f}]",
        ]
        cells += [_change(d), verdict, f"{d.get('seconds', 0.0):.1f}"]
        shown = [f"<b>{html.escape(c)}</b>" if c == verdict and d["flagged"] else html.escape(c) for c in cells]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in shown) + "</tr>")
    first = measured[0]["drift"]
    limit = f"{first['max_drop']:.0%} rise" if first["metric"] == "perplexity" else f"{first['max_drop']:.3f} drop"
    head = "".join(f"<th>{h}</th>" for h in ("node", "metric", "base", "node [95% CI]", "change [95% CI]",
                                              f"past {limit}?", "check s"))  # fmt: skip
    note = (
        "<p class='note'>Each node's best job measured on a fixed general suite against the base model's job "
        "(a proxy, not a benchmark of abilities: docs/trust.md). A positive change is a loss.</p>"
    )
    return f"{title}{note}<table class='drift'><tr>{head}</tr>{''.join(rows)}</table>"
