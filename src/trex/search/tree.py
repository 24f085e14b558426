"""Node and Tree: the experiments as a tree, in memory; persistence lives in ``trex.store``.

A node is one iteration: a plan of configs under a parent. ``visits`` (N) and ``value`` (Q, the
sum of rewards backpropagated through the node) drive MCTS. The tree knows nothing of
training: a node's result is its reward (normalized validation score) and the scores it reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DONE, FAILED, RUNNING = "done", "failed", "running"


@dataclass
class Node:
    id: int
    parent: int | None
    depth: int
    strategy: str
    status: str = RUNNING
    visits: int = 0
    value: float = 0.0
    reward: float | None = None
    val_score: float | None = None
    test_score: float | None = None
    summary: str = ""
    insights: str = ""
    children: list[int] = field(default_factory=list)
    flag: str = ""  # a warning from outside the search the researcher must read (a general-ability drift)
    gated: bool = False  # kept from being the best (the task gates on the flag)


class Tree:
    def __init__(self, nodes: list[Node] | None = None) -> None:
        self.nodes: dict[int, Node] = {}
        for node in sorted(nodes or [], key=lambda n: n.id):
            self.add(node)

    def add(self, node: Node) -> Node:
        self.nodes[node.id] = node
        if node.parent is not None:
            self.nodes[node.parent].children.append(node.id)
        return node

    def __len__(self) -> int:
        return len(self.nodes)

    @property
    def root(self) -> Node | None:
        return self.nodes.get(min(self.nodes)) if self.nodes else None

    def path(self, node_id: int) -> list[Node]:
        """Nodes from the root down to ``node_id``, both included."""
        out = []
        current: int | None = node_id
        while current is not None:
            out.append(self.nodes[current])
            current = self.nodes[current].parent
        return out[::-1]

    def children(self, node_id: int) -> list[Node]:
        return [self.nodes[c] for c in self.nodes[node_id].children]

    def best(self) -> Node | None:
        """The finished node with the highest validation score (ties: the earlier node), gated nodes left out."""
        scored = [n for n in self.nodes.values() if n.status == DONE and n.val_score is not None and not n.gated]
        return max(scored, key=lambda n: (n.val_score, -n.id)) if scored else None
