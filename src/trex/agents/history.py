"""The evidence of the tree that the memory needs from the store: the 95% interval of every finished node.

``node_intervals`` reads each finished node's best job and returns the interval of its validation
score, so ``memory_context`` can tell a gain or a regression beyond the noise from one inside it.
"""

from __future__ import annotations

from trex.search.memory import Intervals
from trex.search.tree import DONE, Tree
from trex.store import Store


def node_intervals(store: Store, tree: Tree) -> Intervals:
    """Node id -> (low, high) of its best job's validation score, for every finished node."""
    intervals: Intervals = {}
    for node_id, node in sorted(tree.nodes.items()):
        best = store.node_row(node_id).get("best_job") if node.status == DONE else None
        stored = store.job(best) if best else None
        if stored is not None and stored.result is not None and stored.result.validation is not None:
            score = stored.result.validation.score
            intervals[node_id] = (score.low, score.high)
    return intervals
