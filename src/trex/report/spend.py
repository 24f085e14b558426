"""The report's cost section: each node's gain over its parent against the run's cumulative cost, and the ledger.

``gain_cost_svg`` draws one point per node with a score, in the order the nodes were created: x is the run's compute
spent up to and including that node (GPU-seconds when jobs held GPUs, job seconds on CPU), y the node's gain over its
parent with its 95% interval as a whisker; the zero line marks no gain. ``cost_section`` adds the ledger as a table
(``trex.report.ledger``), an unknown LLM price written "unpriced". Inline SVG, no script; safe to paste into HTML.
"""

from __future__ import annotations

import html
from typing import Any

from trex.report.ledger import usd_text

W, H, PAD = 560, 230, 46


def _cumulative(nodes: list[dict[str, Any]]) -> tuple[list[tuple[int, float, dict[str, Any]]], str]:
    """(node id, cumulative cost, cost) of each node with a gain, and the unit of the cost."""
    costs = [n["cost"] for n in nodes if n.get("cost")]
    gpu = any(c["gpu_s"] > 0 for c in costs)
    key, unit = ("gpu_s", "GPU-seconds") if gpu else ("compute_s", "compute seconds")
    total, points = 0.0, []
    for node in sorted(nodes, key=lambda n: n["id"]):
        cost = node.get("cost")
        if not cost:
            continue
        total += cost[key]
        if cost["gain"] is not None:
            points.append((node["id"], total, cost))
    return points, unit


def gain_cost_svg(nodes: list[dict[str, Any]]) -> str:
    points, unit = _cumulative(nodes)
    if not points:
        return "<p class='note'>No node has a gain over its parent yet.</p>"
    xs = [x for _, x, _ in points]
    ys = [v for _, _, c in points for v in (c["gain"], *c["gain_ci"])] + [0.0]
    x_hi, y_lo, y_hi = max(xs) or 1.0, min(ys), max(ys)
    span = (y_hi - y_lo) or 1.0

    def px(x: float) -> float:
        return PAD + (W - 2 * PAD) * x / x_hi

    def py(y: float) -> float:
        return H - PAD - (H - 2 * PAD) * (y - y_lo) / span

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" role="img" aria-label="gain against cost">',
        f'<line x1="{PAD}" y1="{py(0):.1f}" x2="{W - PAD}" y2="{py(0):.1f}" stroke="#999" stroke-dasharray="4 3"/>',
        f'<text x="{W / 2:.0f}" y="{H - 8}" text-anchor="middle" font-size="11">cumulative {unit}</text>',
        f'<text x="10" y="{PAD - 14}" font-size="11">gain over parent (95% CI)</text>',
        f'<text x="{PAD}" y="{H - PAD + 14}" font-size="10">0</text>',
        f'<text x="{W - PAD}" y="{H - PAD + 14}" font-size="10" text-anchor="end">{x_hi:,.0f}</text>',
        f'<text x="{PAD - 4}" y="{py(y_hi) + 4:.1f}" font-size="10" text-anchor="end">{y_hi:+.3f}</text>',
        f'<text x="{PAD - 4}" y="{py(y_lo) + 4:.1f}" font-size="10" text-anchor="end">{y_lo:+.3f}</text>',
    ]
    for node_id, x, cost in points:
        lo, hi = cost["gain_ci"]
        colour = "#2a8a3a" if lo > 0 else "#c0392b" if hi < 0 else "#555"
        parts.append(
            f"<g><title>node {node_id}: gain {cost['gain']:+.4f} [{lo:+.4f}, {hi:+.4f}] after {x:,.0f} {unit}</title>"
            f'<line x1="{px(x):.1f}" y1="{py(lo):.1f}" x2="{px(x):.1f}" y2="{py(hi):.1f}" stroke="{colour}"/>'
            f'<circle cx="{px(x):.1f}" cy="{py(cost["gain"]):.1f}" r="4" fill="{colour}"/>'
            f'<text x="{px(x) + 6:.1f}" y="{py(cost["gain"]) - 5:.1f}" font-size="9">{node_id}</text></g>'
        )
    return "".join(parts) + "</svg>"


def _cell(value: Any, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}" if isinstance(value, float) else html.escape(str(value))


def cost_section(nodes: list[dict[str, Any]]) -> str:
    """The section: the picture and one ledger row per node."""
    rows = []
    for node in sorted(nodes, key=lambda n: n["id"]):
        cost = node.get("cost")
        if not cost:
            continue
        ci = cost["gain_ci"]
        gain = "–" if cost["gain"] is None else f"{cost['gain']:+.4f} [{ci[0]:+.4f}, {ci[1]:+.4f}]"
        cells = [str(node["id"]), f"{cost['llm_tokens']:,}", usd_text(cost["llm_usd"]), _cell(cost["compute_s"]),
                 _cell(cost["gpu_s"]), _cell(cost["wall_s"]), gain]  # fmt: skip
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in ("node", "LLM tokens", "LLM USD", "compute s", "GPU s", "wall s", "gain"))
    return (
        "<h2>Cost and gain per node</h2>" + gain_cost_svg(nodes) + f"<table class='ledger'><tr>{head}</tr>"
        f"{''.join(rows)}</table>"
    )
