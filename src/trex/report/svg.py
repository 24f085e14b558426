"""Inline SVG pictures for the report: the search tree and the best-so-far curve. No library, no script.

``tree_svg`` lays nodes out by depth (rows) and by the order of a depth-first walk (columns), colours
each by its reward (red 0 .. green 1; grey while running; a cross for a failed node), writes its id,
strategy initial, visits and value, draws the path from the root to the best node in bold, and links
each node to its section (``#node-N``). ``curve_svg`` draws the best validation (and its node's test)
score after each iteration as step lines. Both return strings safe to paste into HTML.
"""

from __future__ import annotations

import html
from typing import Any

STRATEGY_MARK = {"establish_baseline": "B", "refine_data": "D", "synthetic_data": "S", "adjust_training": "T"}
CELL_W, CELL_H, RADIUS = 64, 70, 20


def reward_colour(reward: float | None) -> str:
    """Red (0) through yellow to green (1), as an HSL colour."""
    if reward is None:
        return "#cccccc"
    hue = 120 * min(1.0, max(0.0, reward))
    return f"hsl({hue:.0f}, 65%, 55%)"


def _layout(nodes: list[dict[str, Any]]) -> dict[int, tuple[float, float]]:
    children: dict[int | None, list[int]] = {}
    for node in sorted(nodes, key=lambda n: n["id"]):
        children.setdefault(node["parent"], []).append(node["id"])
    depth = {n["id"]: n["depth"] for n in nodes}
    positions: dict[int, tuple[float, float]] = {}
    column = 0

    def place(node_id: int) -> float:
        nonlocal column
        kids = children.get(node_id, [])
        if not kids:
            x = column
            column += 1
        else:
            xs = [place(k) for k in kids]
            x = (xs[0] + xs[-1]) / 2
        positions[node_id] = (x, depth[node_id])
        return x

    for root in children.get(None, []):
        place(root)
    return positions


def _best_path(nodes: list[dict[str, Any]], best_id: int | None) -> set[int]:
    parent = {n["id"]: n["parent"] for n in nodes}
    path, current = set(), best_id
    while current is not None:
        path.add(current)
        current = parent.get(current)
    return path


def tree_svg(nodes: list[dict[str, Any]], best_id: int | None) -> str:
    if not nodes:
        return "<p>No node yet.</p>"
    positions = _layout(nodes)
    on_path = _best_path(nodes, best_id)
    width = (max(x for x, _ in positions.values()) + 1) * CELL_W + 20
    height = (max(y for _, y in positions.values()) + 1) * CELL_H + 20

    def centre(node_id: int) -> tuple[float, float]:
        x, y = positions[node_id]
        return 10 + x * CELL_W + CELL_W / 2, 10 + y * CELL_H + CELL_H / 2

    parts = [f'<svg class="tree" width="{width:.0f}" height="{height:.0f}">']
    for node in nodes:
        if node["parent"] is not None and node["parent"] in positions:
            (x1, y1), (x2, y2) = centre(node["parent"]), centre(node["id"])
            bold = node["id"] in on_path and node["parent"] in on_path
            parts.append(
                f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" '
                f'stroke="{"#1a7f37" if bold else "#999"}" stroke-width="{4 if bold else 1.5}"/>'
            )
    for node in nodes:
        x, y = centre(node["id"])
        colour = reward_colour(node["reward"]) if node["status"] == "done" else "#cccccc"
        ring = ' stroke="#1a7f37" stroke-width="4"' if node["id"] in on_path else ' stroke="#555" stroke-width="1"'
        mark = STRATEGY_MARK.get(node["strategy"], "?")
        value = f"{node['value'] / node['visits']:.2f}" if node["visits"] else "–"
        title = html.escape(
            f"node {node['id']} {node['strategy']} ({node['status']}): val {node['val_score']}, "
            f"visits {node['visits']}, mean value {value}"
        )
        cross = (
            f'<path d="M{x - 8:.0f},{y - 8:.0f} L{x + 8:.0f},{y + 8:.0f} M{x + 8:.0f},{y - 8:.0f} '
            f'L{x - 8:.0f},{y + 8:.0f}" stroke="#a33" stroke-width="3"/>'
            if node["status"] == "failed"
            else ""
        )
        parts.append(
            f'<a href="#node-{node["id"]}" class="tree-node" data-node="{node["id"]}"><title>{title}</title>'
            f'<circle cx="{x:.0f}" cy="{y:.0f}" r="{RADIUS}" fill="{colour}"{ring}/>{cross}'
            f'<text x="{x:.0f}" y="{y + 4:.0f}" text-anchor="middle" font-size="12">{node["id"]}{mark}</text>'
            f'<text x="{x:.0f}" y="{y + RADIUS + 12:.0f}" text-anchor="middle" font-size="9">'
            f"N{node['visits']} Q{value}</text></a>"
        )
    parts.append("</svg>")
    return "".join(parts)


def best_so_far(nodes: list[dict[str, Any]]) -> list[tuple[int, float, float | None]]:
    """(iteration, best validation so far, that node's test score) after each finished node, by id."""
    points, best_val, best_test = [], None, None
    for node in sorted(nodes, key=lambda n: n["id"]):
        if node["val_score"] is not None and (best_val is None or node["val_score"] > best_val):
            best_val, best_test = node["val_score"], node["test_score"]
        if best_val is not None:
            points.append((node["id"], best_val, best_test))
    return points


def curve_svg(nodes: list[dict[str, Any]], width: int = 480, height: int = 200) -> str:
    points = best_so_far(nodes)
    if not points:
        return "<p>No score yet.</p>"
    values = [v for _, v, t in points] + [t for _, _, t in points if t is not None]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    last = max(i for i, _, _ in points)
    first = min(i for i, _, _ in points)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = 40 + (width - 60) * ((i - first) / max(1, last - first))
        y = height - 30 - (height - 50) * ((v - low) / span)
        return x, y

    def steps(series: list[tuple[int, float]]) -> str:
        out, previous = [], None
        for i, v in series:
            x, y = xy(i, v)
            if previous is not None:
                out.append(f"{x:.1f},{previous:.1f}")
            out.append(f"{x:.1f},{y:.1f}")
            previous = y
        return " ".join(out)

    val = steps([(i, v) for i, v, _ in points])
    test = steps([(i, t) for i, _, t in points if t is not None])
    return (
        f'<svg class="curve" width="{width}" height="{height}">'
        f'<line x1="40" y1="{height - 30}" x2="{width - 20}" y2="{height - 30}" stroke="#999"/>'
        f'<line x1="40" y1="20" x2="40" y2="{height - 30}" stroke="#999"/>'
        f'<text x="4" y="24" font-size="10">{high:.3f}</text>'
        f'<text x="4" y="{height - 32}" font-size="10">{low:.3f}</text>'
        f'<text x="40" y="{height - 12}" font-size="10">node {first}</text>'
        f'<text x="{width - 70}" y="{height - 12}" font-size="10">node {last}</text>'
        f'<polyline class="val" fill="none" stroke="#1f6feb" stroke-width="2" points="{val}"/>'
        f'<polyline class="test" fill="none" stroke="#bf8700" stroke-width="2" stroke-dasharray="4 3" '
        f'points="{test}"/>'
        f'<text x="{width - 150}" y="30" font-size="10" fill="#1f6feb">best validation</text>'
        f'<text x="{width - 150}" y="44" font-size="10" fill="#bf8700">its test score</text></svg>'
    )
