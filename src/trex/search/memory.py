"""memory_context: the text a researcher sees of the tree, condensed to a token budget.

M(i) = path(root..i) + siblings(i) + critical(T): each node's stored one-line summary (strategy,
change, validation result). Critical nodes are the gains and regressions over their parents that
are beyond the noise (the node's 95% validation interval and its parent's do not overlap), largest
first, and the failures anywhere in the tree; each comes with its whole insight text (error rates,
loss curve, data notes) or its error, also when it is on the path (whose lines carry no insights);
only the node being planned from is left out there, since the prompt shows it whole. Parts are added
in priority order (the node itself and its path newest first, then siblings, then critical nodes),
each node's block whole or not at all, until
the budget, estimated at 4 characters a token, is spent; the output is deterministic for a given tree.
Without intervals (``intervals`` None or a node missing from it) no gain or regression is critical:
a difference that cannot be told from noise is not evidence.
"""

from __future__ import annotations

from collections.abc import Callable

from trex.search.tree import FAILED, Node, Tree

CHARS_PER_TOKEN = 4
Intervals = dict[int, tuple[float, float]]  # node id -> 95% interval of its validation score


def _line(node: Node) -> str:
    score = f"val {node.val_score:.3f}" if node.val_score is not None else node.status
    flag = f" [{node.flag}]" if node.flag else ""  # e.g. a general-ability drift past the task's max_drop
    return f"- node {node.id} (depth {node.depth}, {score}): {node.summary or node.strategy}{flag}"


def separated_change(tree: Tree, node: Node, intervals: Intervals | None) -> float:
    """The node's change over its parent when the two 95% intervals do not overlap, else 0."""
    if intervals is None or node.parent is None or node.id not in intervals or node.parent not in intervals:
        return 0.0
    parent = tree.nodes[node.parent]
    if node.val_score is None or parent.val_score is None:
        return 0.0
    (low, high), (p_low, p_high) = intervals[node.id], intervals[node.parent]
    return node.val_score - parent.val_score if low > p_high or high < p_low else 0.0


def critical_nodes(tree: Tree, limit: int = 5, intervals: Intervals | None = None) -> list[Node]:
    """Separated gains and regressions (largest change first), then failures (newest first)."""
    changes = {n.id: separated_change(tree, n, intervals) for n in tree.nodes.values()}
    moved = sorted((n for n in tree.nodes.values() if changes[n.id] != 0), key=lambda n: (-abs(changes[n.id]), n.id))
    failures = sorted((n for n in tree.nodes.values() if n.status == FAILED), key=lambda n: -n.id)
    return moved[:limit] + failures[:limit]


def _with_insights(node: Node) -> str:
    """A critical node's line followed by its whole insight text (or its error)."""
    lines = [line for line in node.insights.splitlines() if line.strip()]
    return "\n".join([_line(node), *(f"    {line}" for line in lines)])


def memory_context(tree: Tree, node_id: int, budget_tokens: int, intervals: Intervals | None = None) -> str:
    budget = budget_tokens * CHARS_PER_TOKEN
    sections: list[tuple[str, list[Node], Callable[[Node], str]]] = [
        ("Path from the root (newest first)", list(reversed(tree.path(node_id))), _line),
        ("Already tried under the same parent", tree.children(node_id), _line),
        ("Critical nodes of the tree (changes beyond the 95% intervals, failures)",
         critical_nodes(tree, intervals=intervals), _with_insights),
    ]  # fmt: skip
    out: list[str] = []
    used = 0
    for title, nodes, describe in sections:
        # a critical ancestor keeps its insights (its path line is one line); the node itself is shown whole elsewhere
        blocks = [describe(n) for n in nodes if describe is not _with_insights or n.id != node_id]
        if not blocks or used + len(title) + 2 > budget:
            continue
        kept = [b for b in blocks if len(b) + 1 <= budget - used - len(title) - 2]
        if not kept:
            continue
        out.append(f"{title}:")
        used += len(title) + 2
        for block in blocks:
            if used + len(block) + 1 > budget:
                continue  # a node's block is whole or absent; a smaller one may still fit
            out.append(block)
            used += len(block) + 1
    return "\n".join(out)
