"""The status of a run as one JSON-ready dict: the contract of ``trex status --json``.

``{"task", "nodes": [{"id", "parent", "depth", "strategy", "status", "visits", "value", "reward",
"val_score", "test_score", "configs"}], "best": {"id", "val_score", "test_score"}, "base": {...}}``
``configs`` counts a node's training configs (the root's base-model evaluation is not one).
Two queries whatever the tree's size, so it stays fast on large trees.
"""

from __future__ import annotations

from typing import Any

from trex.store import Store

NODE_KEYS = ("id", "parent", "depth", "strategy", "status", "visits", "value", "reward", "val_score", "test_score")
STATUS_KEYS = (*NODE_KEYS, "configs")


def format_value(value: Any) -> str:
    """How tables show a status value: floats to 3 decimals, None as a dash."""
    return "–" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def run_status(store: Store) -> dict[str, Any]:
    tree = store.load_tree()
    counts = dict(
        store.conn.execute(
            "SELECT nj.node_id, COUNT(*) FROM node_jobs nj JOIN jobs j ON j.hash = nj.hash"
            " WHERE json_extract(j.spec, '$.train') IS NOT NULL GROUP BY nj.node_id"
        ).fetchall()
    )
    nodes = [{**{k: getattr(n, k) for k in NODE_KEYS}, "configs": counts.get(n.id, 0)} for n in tree.nodes.values()]
    best = tree.best()
    return {
        "task": store.get_meta("task_name", ""),
        "nodes": nodes,
        "best": {"id": best.id, "val_score": best.val_score, "test_score": best.test_score} if best else None,
        "base": store.get_meta("base"),
    }
