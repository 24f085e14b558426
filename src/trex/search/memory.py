"""memory_context: the text a researcher sees of the tree, condensed to a token budget.

M(i) = path(root..i) + siblings(i) + critical(T): each node's stored one-line summary (strategy,
change, validation result). Critical nodes are the largest gains over their parents and the
failures anywhere in the tree, each with the first lines of its insights (or its error). Parts
are added in priority order (the node itself and its path newest first, then siblings, then
critical nodes) until the budget, estimated at 4 characters a token, is spent; the output is
deterministic for a given tree.
"""

from __future__ import annotations

from trex.search.tree import FAILED, Node, Tree

CHARS_PER_TOKEN = 4


def _line(node: Node) -> str:
    score = f"val {node.val_score:.3f}" if node.val_score is not None else node.status
    return f"- node {node.id} (depth {node.depth}, {score}): {node.summary or node.strategy}"


def critical_nodes(tree: Tree, limit: int = 5) -> list[Node]:
    def gain(node: Node) -> float:
        parent = tree.nodes[node.parent] if node.parent is not None else None
        if node.val_score is None or parent is None or parent.val_score is None:
            return 0.0
        return node.val_score - parent.val_score

    gains = sorted((n for n in tree.nodes.values() if gain(n) > 0), key=lambda n: (-gain(n), n.id))[:limit]
    failures = sorted((n for n in tree.nodes.values() if n.status == FAILED), key=lambda n: -n.id)[:limit]
    return gains + failures


INSIGHT_LINES = 2


def _with_insights(node: Node) -> str:
    """A critical node's line followed by the first lines of its insights (or its error)."""
    lines = [line for line in node.insights.splitlines() if line.strip()][:INSIGHT_LINES]
    return "\n".join([_line(node), *(f"    {line}" for line in lines)])


def memory_context(tree: Tree, node_id: int, budget_tokens: int) -> str:
    budget = budget_tokens * CHARS_PER_TOKEN
    sections = [
        ("Path from the root (newest first)", list(reversed(tree.path(node_id))), _line),
        ("Already tried under the same parent", tree.children(node_id), _line),
        ("Critical nodes of the tree", critical_nodes(tree), _with_insights),
    ]
    out: list[str] = []
    used = 0
    seen: set[int] = set()
    for title, nodes, describe in sections:
        lines = [describe(n) for n in nodes if n.id not in seen]
        seen.update(n.id for n in nodes)
        if not lines or used + len(title) + 2 > budget:
            continue
        out.append(f"{title}:")
        used += len(title) + 2
        for line in lines:
            if used + len(line) + 1 > budget:
                break
            out.append(line)
            used += len(line) + 1
    return "\n".join(out)
