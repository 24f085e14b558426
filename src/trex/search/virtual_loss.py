"""Virtual loss: how selection treats the nodes still in flight, so parallel expansions spread out.

With several nodes in flight, selection runs while some results are unknown. As in AlphaGo's and
ML-Master's parallel search, every pending node counts, for selection only, as one visit that
returned a loss: each node on its path (the pending node's ancestors) gets one more visit and the
lowest reward of the finished nodes (0 when none) added to its value. A parent whose child is
pending thus scores lower under UCT, and the next selection prefers another place unless the
parent is still clearly the best. The pending nodes themselves are not expandable (only finished
nodes are). Policies that ignore visits (GBFS, SES, random) are unaffected; for them, the running
sibling's plan in the memory context (``running: <plan>``) is what keeps two pending nodes apart.
The real tree is never changed: ``with_virtual_loss`` returns a copy, and the loss disappears when
the node's true result is backpropagated.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from trex.search.policies import failure_value
from trex.search.tree import Tree


def with_virtual_loss(tree: Tree, pending: Iterable[int], summaries: dict[int, str] | None = None) -> Tree:
    """A copy of ``tree`` in which every pending node's ancestors carry one more visit of the lowest finished
    reward; ``summaries`` (node -> plan text) become the pending nodes' summaries as ``running: <plan>``."""
    shadow = copy.deepcopy(tree)
    loss = failure_value(tree, "lowest")
    for node_id in sorted(set(pending)):
        node = shadow.nodes.get(node_id)
        if node is None:
            continue
        if summaries and node_id in summaries:
            node.summary = f"running: {summaries[node_id]}"
        for ancestor in shadow.path(node_id)[:-1]:
            ancestor.visits += 1
            ancestor.value += loss
    return shadow
