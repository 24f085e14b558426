"""Selection policies (which node to expand next) and backpropagation: the formulas live here.

- ``uct``: Q/N + c * sqrt(ln N_parent / N); an unvisited node scores +inf (visited first).
- ``MCTS``: UCT over all expandable nodes of the tree (the root uses its own N as N_parent), on the
  mean value Q/N mapped to UCT's scale. Rewards of one task sit in a narrow band (e.g. 0.80-0.86), so
  on the raw scale the exploration term dominates for any c and MCTS degenerates into SES (always the
  newest leaf). The default scale (``"noise"``) counts standard errors of the validation score
  (``floor``) below the tree's best mean: a node one standard error below the best loses 1, and nodes
  within the noise of the best compete on their visits. The alternative (``"range"``, MuZero's min-max
  over the tree's means, at least ``floor`` wide, widened around its middle so a plateau maps to 0.5)
  lets the tree's worst node set the scale: the root's poor first configs squeeze the top nodes
  together; the simulator chose the noise scale (docs/benchmarks/search-simulator.md).
  Failed nodes stay out of the scale on both (one failure would stretch it to [0, best]). The loop
  measures ``floor``: ``measured_floor``, one standard error of the best node's 95% validation interval on the
  reward's scale.
- ``UCTDescent``: textbook UCT, descending from the root through each child's UCT against its
  parent's visits until a node that can still be expanded (measured against ``MCTS``;
  docs/benchmarks/search-simulator.md).
- ``backpropagate``: a failed node adds the lowest finished reward of the tree (not 0, which drags
  every ancestor's mean below the healthy nodes' range); on the simulator both gave the same runs (a
  node fails only when all its configs fail), see docs/benchmarks/search-simulator.md.
- ``GBFS``: the expandable node with the highest reward. ``SES``: the newest expandable node
  (sequential refinement of the last result). ``RandomPolicy``: uniform over expandable nodes.
Each ``select`` returns a ``Selection`` with the score of every candidate, so the decision can
be recorded and explained. Ties break toward the lower node id; randomness comes from the
``random.Random`` passed in, so a seeded run is reproducible.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from trex.search.tree import DONE, FAILED, Node, Tree

# Exploration constant for UCT on the noise scale (a unit is one standard error), chosen with
# benchmarks/search_sim.py --tune on seeds 10000-10199 (disjoint from the reported seeds); see
# docs/benchmarks/search-simulator.md.
DEFAULT_C = 2.0
# Least width of the normalization range when nothing was measured yet: about one standard error of an
# accuracy near 0.85 on a few hundred validation rows (sqrt(p(1-p)/n)). The loop passes the measured one
# (``standard_error`` of the best node's validation interval).
DEFAULT_FLOOR = 0.02
Z95 = 1.959964  # a 95% interval is this many standard errors either side
# What a failed node backpropagates: "lowest" (the lowest finished reward of the tree) or "zero".
FAILURE_REWARD = "lowest"
# How MCTS maps mean values to UCT's scale: "noise" (one standard error below the best mean) or "range" (min-max).
DEFAULT_SCALE = "noise"


def uct(value: float, visits: int, parent_visits: int, c: float, bounds: tuple[float, float] = (0.0, 1.0)) -> float:
    """UCT of a node whose mean value Q/N is mapped to [0, 1] by ``bounds`` (low, high)."""
    if visits == 0:
        return math.inf
    low, high = bounds
    mean = (value / visits - low) / (high - low) if high > low else 0.5
    return mean + c * math.sqrt(math.log(max(parent_visits, 1)) / visits)


def standard_error(low: float, high: float) -> float:
    """One standard error of a score whose 95% interval is (low, high); ``DEFAULT_FLOOR`` for an interval of no
    width (a bootstrap of a perfect or constant score measures no noise, which is not the same as none)."""
    width = (high - low) / (2 * Z95)
    return width if width > 0 else DEFAULT_FLOOR


def measured_floor(
    best: Node | None, intervals: Mapping[int, tuple[float, float]], scale: Callable[[float], float] = float
) -> float:
    """The floor MCTS counts in: one standard error of the ``best`` node's validation score, from its 95% interval
    in ``intervals``, on the reward's scale (``scale`` maps a metric value onto it); ``DEFAULT_FLOOR`` before any
    node has an interval."""
    interval = intervals.get(best.id) if best is not None else None
    if interval is None:
        return DEFAULT_FLOOR
    return standard_error(scale(interval[0]), scale(interval[1]))


def value_bounds(tree: Tree, floor: float = DEFAULT_FLOOR, scale: str = "range") -> tuple[float, float]:
    """The (low, high) that UCT maps to [0, 1], from the mean values Q/N of the visited nodes that did not fail
    (``(0, 1)`` for a tree with no such node).

    ``scale="range"``: the lowest and highest mean, widened around the middle to at least ``floor``.
    ``scale="noise"``: one ``floor`` (a standard error of the validation score) ending at the highest mean, so a
    node one standard error below the best loses 1, whatever the spread of the rest of the tree."""
    means = [n.value / n.visits for n in tree.nodes.values() if n.visits and n.status != FAILED]
    if not means:
        return (0.0, 1.0)
    low, high = min(means), max(means)
    if scale == "noise":
        return (high - max(floor, 1e-12), high)
    if high - low <= max(floor, 1e-12 * max(1.0, abs(high))):  # equal up to float error: the same value
        middle = (low + high) / 2
        half = max(floor, 0.0) / 2
        return (middle - half, middle + half)
    return (low, high)


def failure_value(tree: Tree, rule: str = FAILURE_REWARD) -> float:
    """What a failed node backpropagates: 0, or the lowest reward of the finished nodes (0 when none)."""
    if rule == "zero":
        return 0.0
    rewards = [n.reward for n in tree.nodes.values() if n.status == DONE and n.reward is not None]
    return min(rewards) if rewards else 0.0


def backpropagate(tree: Tree, node_id: int, reward: float, failure: str = FAILURE_REWARD) -> list[Node]:
    """Add one visit and ``reward`` to the node and every ancestor; return the changed nodes. A failed node
    adds ``failure_value`` instead of ``reward``."""
    if tree.nodes[node_id].status == FAILED:
        reward = failure_value(tree, failure)
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

    def __init__(self, c: float = DEFAULT_C, floor: float = DEFAULT_FLOOR, scale: str = DEFAULT_SCALE) -> None:
        self.c, self.floor, self.scale = c, floor, scale

    def select(self, tree: Tree, candidates: list[Node], rng: random.Random) -> Selection:
        scores = {}
        bounds = value_bounds(tree, self.floor, self.scale)
        for node in candidates:
            parent_visits = tree.nodes[node.parent].visits if node.parent is not None else node.visits
            scores[node.id] = uct(node.value, node.visits, parent_visits, self.c, bounds)
        return Selection(_argmax(scores), self.name, scores)


class UCTDescent:
    """Textbook UCT: from the root, take the child with the highest UCT (against its parent's visits) until
    a node that can still be expanded; only subtrees that hold a candidate are entered."""

    name = "uct_descent"

    def __init__(self, c: float = DEFAULT_C, floor: float = DEFAULT_FLOOR, scale: str = DEFAULT_SCALE) -> None:
        self.c, self.floor, self.scale = c, floor, scale

    def select(self, tree: Tree, candidates: list[Node], rng: random.Random) -> Selection:
        allowed = {n.id for n in candidates}
        holds = set(allowed)  # nodes whose subtree holds a candidate
        for node_id in allowed:
            holds.update(n.id for n in tree.path(node_id))
        bounds = value_bounds(tree, self.floor, self.scale)
        node, scores = tree.root, {}
        while node is not None and node.id not in allowed:
            children = [c for c in tree.children(node.id) if c.id in holds]
            step = {c.id: uct(c.value, c.visits, node.visits, self.c, bounds) for c in children}
            scores.update(step)
            node = tree.nodes[_argmax(step)] if step else None
        if node is None:  # the root's subtree holds no candidate (cannot happen with a rooted tree)
            node = tree.nodes[min(allowed)]
        scores[node.id] = scores.get(node.id, math.inf)
        return Selection(node.id, self.name, scores)


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


Policy = MCTS | UCTDescent | GBFS | SES | RandomPolicy
POLICIES = ("mcts", "gbfs", "ses", "random", "uct_descent", "mcts_range")


def make_policy(name: str, c: float = DEFAULT_C, floor: float = DEFAULT_FLOOR) -> Policy:
    match name:
        case "mcts":
            return MCTS(c, floor)
        case "mcts_range":
            return MCTS(c, floor, scale="range")
        case "uct_descent":
            return UCTDescent(c, floor)
        case "gbfs":
            return GBFS()
        case "ses":
            return SES()
        case "random":
            return RandomPolicy()
    raise ValueError(f"unknown policy {name!r}: one of {', '.join(POLICIES)}")
