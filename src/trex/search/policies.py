"""Selection policies (which node to expand next) and backpropagation: the formulas live here.

- ``uct``: Q/N + c * sqrt(ln N_parent / N); an unvisited node scores +inf (visited first).
- ``MCTS``: UCT over all expandable nodes of the tree (the root uses its own N as N_parent).
- ``GBFS``: the expandable node with the highest reward. ``SES``: the newest expandable node
  (sequential refinement of the last result). ``RandomPolicy``: uniform over expandable nodes.
Each ``select`` returns a ``Selection`` with the score of every candidate, so the decision can
be recorded and explained. Ties break toward the lower node id; randomness comes from the
``random.Random`` passed in, so a seeded run is reproducible.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from trex.search.tree import DONE, Node, Tree


def uct(value: float, visits: int, parent_visits: int, c: float) -> float:
    if visits == 0:
        return math.inf
    return value / visits + c * math.sqrt(math.log(max(parent_visits, 1)) / visits)


def backpropagate(tree: Tree, node_id: int, reward: float) -> list[Node]:
    """Add one visit and ``reward`` to the node and every ancestor; return the changed nodes."""
    changed = tree.path(node_id)
    for node in changed:
        node.visits += 1
        node.value += reward
    return changed


def expandable(tree: Tree, max_children: int) -> list[Node]:
    return [n for n in tree.nodes.values() if n.status == DONE and len(n.children) < max_children]


@dataclass(frozen=True)
class Selection:
    node_id: int
    policy: str
    scores: dict[int, float]


def _argmax(scores: dict[int, float]) -> int:
    return max(sorted(scores), key=lambda i: scores[i])


class MCTS:
    name = "mcts"

    def __init__(self, c: float = 1.41) -> None:
        self.c = c

    def select(self, tree: Tree, candidates: list[Node], rng: random.Random) -> Selection:
        scores = {}
        for node in candidates:
            parent_visits = tree.nodes[node.parent].visits if node.parent is not None else node.visits
            scores[node.id] = uct(node.value, node.visits, parent_visits, self.c)
        return Selection(_argmax(scores), self.name, scores)


class GBFS:
    name = "gbfs"

    def select(self, tree: Tree, candidates: list[Node], rng: random.Random) -> Selection:
        scores = {n.id: n.reward if n.reward is not None else -1.0 for n in candidates}
        return Selection(_argmax(scores), self.name, scores)


class SES:
    name = "ses"

    def select(self, tree: Tree, candidates: list[Node], rng: random.Random) -> Selection:
        scores = {n.id: float(n.id) for n in candidates}
        return Selection(_argmax(scores), self.name, scores)


class RandomPolicy:
    name = "random"

    def select(self, tree: Tree, candidates: list[Node], rng: random.Random) -> Selection:
        ordered = sorted(n.id for n in candidates)
        choice = rng.choice(ordered)
        return Selection(choice, self.name, {i: 1.0 / len(ordered) for i in ordered})


Policy = MCTS | GBFS | SES | RandomPolicy
POLICIES = ("mcts", "gbfs", "ses", "random")


def make_policy(name: str, c: float = 1.41) -> Policy:
    match name:
        case "mcts":
            return MCTS(c)
        case "gbfs":
            return GBFS()
        case "ses":
            return SES()
        case "random":
            return RandomPolicy()
    raise ValueError(f"unknown policy {name!r}: one of {', '.join(POLICIES)}")
