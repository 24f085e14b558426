"""Selection policies (which node to expand next) and backpropagation: the formulas live here.

- ``uct``: Q/N + c * sqrt(ln N_parent / N); an unvisited node scores +inf (visited first).
- ``MCTS``: UCT over all expandable nodes of the tree (the root uses its own N as N_parent), with
  the mean value Q/N min-max normalized over the tree's visited nodes (as MuZero does for rewards
  of unknown scale). Rewards of one task sit in a narrow band (e.g. 0.80-0.86), so without the
  normalization the exploration term dominates for any c and MCTS degenerates into SES (always
  the newest leaf); benchmarks/search_sim.py measures the difference.
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

# Exploration constant for UCT on normalized values, chosen with benchmarks/search_sim.py --tune
# on seeds 10000-10199 (disjoint from the reported seeds); see docs/benchmarks.md.
DEFAULT_C = 0.5


def uct(value: float, visits: int, parent_visits: int, c: float, bounds: tuple[float, float] = (0.0, 1.0)) -> float:
    """UCT of a node whose mean value Q/N is mapped to [0, 1] by ``bounds`` (low, high)."""
    if visits == 0:
        return math.inf
    low, high = bounds
    mean = (value / visits - low) / (high - low) if high > low else 0.5
    return mean + c * math.sqrt(math.log(max(parent_visits, 1)) / visits)


def value_bounds(tree: Tree) -> tuple[float, float]:
    """The lowest and highest mean value Q/N over the visited nodes (``(0, 1)`` for an unvisited tree)."""
    means = [n.value / n.visits for n in tree.nodes.values() if n.visits]
    return (min(means), max(means)) if means else (0.0, 1.0)


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

    def __init__(self, c: float = DEFAULT_C) -> None:
        self.c = c

    def select(self, tree: Tree, candidates: list[Node], rng: random.Random) -> Selection:
        scores = {}
        bounds = value_bounds(tree)
        for node in candidates:
            parent_visits = tree.nodes[node.parent].visits if node.parent is not None else node.visits
            scores[node.id] = uct(node.value, node.visits, parent_visits, self.c, bounds)
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


def make_policy(name: str, c: float = DEFAULT_C) -> Policy:
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
