"""The paper's Table 4 for one run: per strategy type, nodes attempted, succeeded and improved.

``strategy_table`` reads the tree as stored: a node is *attempted* under the strategy its plan names, *succeeded*
when it finished with a validation score, and *improved* when that score is above its parent's (the root: above the
base model's). The four strategies of the paper come first, always present; any other strategy a researcher used
follows. ``trex status --json`` carries it as ``strategies``, and ``bench run`` counts the same per task.
"""

from __future__ import annotations

from typing import get_args

from trex.plan import Strategy
from trex.store import Store

COUNTS = ("attempted", "succeeded", "improved")


def strategy_table(store: Store) -> dict[str, dict[str, int]]:
    """``{strategy: {"attempted", "succeeded", "improved"}}`` over every node of the run."""
    tree = store.load_tree()
    base = (store.get_meta("base") or {}).get("val")
    table: dict[str, dict[str, int]] = {name: dict.fromkeys(COUNTS, 0) for name in get_args(Strategy)}
    for node in sorted(tree.nodes.values(), key=lambda n: n.id):
        row = table.setdefault(node.strategy, dict.fromkeys(COUNTS, 0))
        row["attempted"] += 1
        if node.status != "done" or node.val_score is None:
            continue
        row["succeeded"] += 1
        before = tree.nodes[node.parent].val_score if node.parent is not None else base
        row["improved"] += before is not None and node.val_score > before
    return table
