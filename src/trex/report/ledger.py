"""The cost ledger of a run: what each node cost and what it gained, for ``trex status --json`` and the report.

Per node, ``{"llm_tokens", "llm_usd", "compute_s", "gpu_s", "wall_s", "gain", "gain_ci"}``:
- ``llm_tokens`` and ``llm_usd``: the researcher's LLM usage charged to the node (its plan, its repairs, its verdict:
  ``trex.store.ledger``); ``llm_usd`` is None when the LLM's price is unknown ("unpriced"), never 0 then;
- ``compute_s``: the seconds of its finished jobs (a job two nodes share counts for the first); ``gpu_s``: the same
  times the GPUs each job held (0 on CPU);
- ``wall_s``: from the node's creation to its end (to now while it runs), planning excluded;
- ``gain``: its validation score minus its parent's (the root's: minus the base model's), with ``gain_ci`` the 95%
  interval of that difference (``trex.evaluation.gain.difference_interval``); None where either has no score.
Not counted: the jobs of a wall-clock run's calibration (before the root exists), LLM calls of data operators inside
jobs, and LLM spending of a workspace of an older release before it resumed.
"""

from __future__ import annotations

import time
from typing import Any

from trex.evaluation.gain import difference_interval
from trex.llm.pricing import PriceError, model_price
from trex.store import Store

COST_KEYS = ("llm_tokens", "llm_usd", "compute_s", "gpu_s", "wall_s", "gain", "gain_ci")


def llm_priced(options: dict[str, Any]) -> bool:
    """Whether the run's LLM has a known price (a run without an LLM researcher spends nothing: priced)."""
    if options.get("researcher") != "llm" or not options.get("llm_model"):
        return True
    price = options.get("llm_price")
    try:
        found = model_price(
            options["llm_model"],
            options.get("llm_base_url"),
            tuple(price) if price else None,
            options.get("llm_prices"),
        )
    except PriceError:  # the prices file is gone or broken: the price is not known now
        return False
    return found is not None


def node_costs(store: Store) -> dict[int, dict[str, Any]]:
    """Node id -> its cost and gain (see the module docstring)."""
    priced = llm_priced(store.get_meta("options") or {})
    llm, seconds, times = store.llm_cost_per_node(), store.job_seconds_per_node(), store.node_times()
    scores, base = store.score_intervals()
    parents = {node.id: node.parent for node in store.load_tree().nodes.values()}
    now, costs = time.time(), {}
    for node_id, (created, finished) in sorted(times.items()):
        spent = llm.get(node_id, {})
        compute_s, gpu_s = seconds.get(node_id, (0.0, 0.0))
        parent = parents.get(node_id)
        old = base if parent is None else scores.get(parent)
        new = scores.get(node_id)
        gain = difference_interval(new, old) if new is not None and old is not None else None
        costs[node_id] = {
            "llm_tokens": int(spent.get("prompt_tokens", 0)) + int(spent.get("completion_tokens", 0)),
            "llm_usd": round(float(spent.get("usd", 0.0)), 6) if priced else None,
            "compute_s": round(compute_s, 3),
            "gpu_s": round(gpu_s, 3),
            "wall_s": round((finished if finished is not None else now) - created, 3),
            "gain": round(gain[0], 6) if gain else None,
            "gain_ci": [round(gain[1], 6), round(gain[2], 6)] if gain else None,
        }
    return costs


def usd_text(usd: float | None) -> str:
    """How a person reads an LLM cost: dollars, or "unpriced" when the price is unknown (never $0 then)."""
    return "unpriced" if usd is None else f"${usd:.4f}"
