"""The status of a run as one JSON-ready dict: the contract of ``trex status --json``.

``{"task", "nodes": [{"id", "parent", "depth", "strategy", "status", "visits", "value", "reward",
"val_score", "test_score", "configs", "cost", "drift"}], "best": {"id", "val_score", "test_score"}, "base": {...},
"usage": {"wall_s", "gpu_hours", "llm_usd", "llm_tokens"}, "stopped": {"reason", "limit"} | None,
"in_flight": [{"node", "jobs": [{"name", "hash", "state", "gpu", "started"}]}],
"strategies": {strategy: {"attempted", "succeeded", "improved"}}}``
``configs`` counts a node's training configs (the root's base-model evaluation is not one); ``cost`` is the node's
line of the cost ledger, ``{"llm_tokens", "llm_usd", "compute_s", "gpu_s", "wall_s", "gain", "gain_ci"}``
(``trex.report.ledger``); ``llm_usd`` is null, here and in ``usage``, when the LLM's price is unknown. ``drift`` is
the node's general-ability drift from the base model (``trex.evaluation.drift``): ``{"metric", "base", "value",
"ci", "flagged", "change", "change_ci", "max_drop", "gate", "seconds"}``, null for a node whose best job measured
none (a failed node, an older run's).
``in_flight`` lists the unfinished nodes and, per unfinished job, whether it runs and on which GPU.
``strategies`` is the paper's Table 4 for the run (``trex.report.strategies``).
A fixed number of queries whatever the tree's size, so it stays fast on large trees.
"""

from __future__ import annotations

from typing import Any

from trex.report.ledger import llm_priced, node_costs
from trex.report.strategies import strategy_table
from trex.report.utilization import in_flight
from trex.run.budget import read_usage
from trex.store import Store

NODE_KEYS = ("id", "parent", "depth", "strategy", "status", "visits", "value", "reward", "val_score", "test_score")
STATUS_KEYS = (*NODE_KEYS, "configs")


def format_value(value: Any) -> str:
    """How tables show a status value: floats to 3 decimals, None as a dash."""
    return "–" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def focus_nodes(nodes: list[dict[str, Any]], best_id: int | None, newest: int) -> list[dict[str, Any]]:
    """A large tree's view: the newest nodes and every ancestor of them and of the best node, in id order."""
    if len(nodes) <= newest:
        return nodes
    by_id = {n["id"]: n for n in nodes}
    keep: set[int] = set()
    for start in [n["id"] for n in nodes[-newest:]] + ([best_id] if best_id is not None else []):
        current: int | None = start
        while current is not None and current not in keep:
            keep.add(current)
            current = by_id[current]["parent"]
    return [n for n in nodes if n["id"] in keep]


def usage_line(usage: dict[str, Any]) -> str:
    """The budget used, in one line: wall clock / GPU-hours / LLM tokens / LLM USD."""
    minutes, hours, tokens, usd = usage["wall_s"] / 60, usage["gpu_hours"], usage["llm_tokens"], usage["llm_usd"]
    dollars = "unpriced" if usd is None else f"{usd:.4f} USD"  # an unknown price is never $0
    return f"{minutes:.1f} min / {hours:.3f} GPU-h / {tokens:,} LLM tokens / {dollars}"


def run_status(store: Store) -> dict[str, Any]:
    tree = store.load_tree()
    counts = store.trained_jobs_per_node()
    costs, drifts = node_costs(store), store.node_drifts()
    nodes = [
        {**{k: getattr(n, k) for k in NODE_KEYS}, "configs": counts.get(n.id, 0), "cost": costs.get(n.id),
         "drift": drifts[n.id].model_dump(mode="json") if n.id in drifts else None}
        for n in tree.nodes.values()
    ]  # fmt: skip
    best = tree.best()
    return {
        "task": store.get_meta("task_name", ""),
        "nodes": nodes,
        "best": {"id": best.id, "val_score": best.val_score, "test_score": best.test_score} if best else None,
        "base": store.get_meta("base"),
        "usage": stored_usage(store),
        "stopped": store.get_meta("stopped"),
        "llm_fallbacks": len(store.events("researcher_fallback")),  # plans the heuristic made for the LLM
        "in_flight": in_flight(store),
        "strategies": strategy_table(store),
    }


def stored_usage(store: Store) -> dict[str, float | None]:
    """The budget used, as recorded (wall clock up to the last finished node); ``llm_usd`` None when the LLM's price
    is unknown."""
    usage = read_usage(store, nodes=0).model_dump(exclude={"nodes"})
    return usage if llm_priced(store.get_meta("options") or {}) else {**usage, "llm_usd": None}
