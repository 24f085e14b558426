"""Virtual visits: how selection treats the nodes still in flight, so parallel expansions spread out.

With several nodes in flight, selection runs while some results are unknown. As in the virtual loss of
AlphaGo's and ML-Master's parallel search, every pending node counts, for selection only, as one more
visit of each node on its path (the pending node's ancestors). What that visit adds to the value is the
rule (``VIRTUAL_VALUE``):

- ``"mean"`` (the default): the ancestor's own mean value, a draw rather than a loss. The mean stays, the
  ancestor's exploration bonus shrinks and its siblings' grows, so the next selection leaves a place that
  already has a node in flight unless it is still the best place to be.
- ``"lowest"``: the lowest finished reward of the tree (0 when none), the classic virtual loss. On the noise
  scale of ``trex.search.policies`` a single pending child then puts its parent several standard errors
  below the best, so the best node is almost never refined twice at once, even when it should be.

On the simulator with several slots, the draw lost less to one node at a time at equal nodes than the loss did
(docs/benchmarks/parallel-nodes.md). The pending nodes
themselves are not expandable (only finished nodes are). Policies that ignore visits (GBFS, SES,
random) are unaffected; for them, the running sibling's plan in the memory context (``running: <plan>``)
is what keeps two pending nodes apart. The real tree is never changed: ``with_virtual_loss`` returns a
copy, and the virtual visits disappear when the node's true result is backpropagated.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from trex.search.policies import failure_value
from trex.search.tree import Tree

VIRTUAL_VALUE = "mean"
RULES = ("mean", "lowest")


def with_virtual_loss(
    tree: Tree, pending: Iterable[int], summaries: dict[int, str] | None = None, rule: str = VIRTUAL_VALUE
) -> Tree:
    """A copy of ``tree`` in which every pending node's ancestors carry one more visit, valued by ``rule`` (their
    own mean, or the lowest finished reward); ``summaries`` (node -> plan text) become the pending nodes'
    summaries as ``running: <plan>``."""
    if rule not in RULES:
        raise ValueError(f"unknown virtual-visit rule {rule!r}: one of {', '.join(RULES)}")
    shadow = copy.deepcopy(tree)
    loss = failure_value(tree, "lowest")
    for node_id in sorted(set(pending)):
        node = shadow.nodes.get(node_id)
        if node is None:
            continue
        if summaries and node_id in summaries:
            node.summary = f"running: {summaries[node_id]}"
        for ancestor in shadow.path(node_id)[:-1]:
            mean = ancestor.value / ancestor.visits if ancestor.visits else loss
            ancestor.value += mean if rule == "mean" else loss
            ancestor.visits += 1
    return shadow
