"""UCT, backpropagation, the normalization bounds and the policies, checked against hand-computed values."""

from __future__ import annotations

import math
import random

import pytest

from trex.search.policies import (
    DEFAULT_FLOOR,
    GBFS,
    MCTS,
    SES,
    RandomPolicy,
    UCTDescent,
    backpropagate,
    expandable,
    failure_value,
    make_policy,
    standard_error,
    uct,
    value_bounds,
)
from trex.search.tree import DONE, FAILED, Node, Tree


def test_uct_by_hand() -> None:
    # Q=1.5, N=2, N_p=5, c=1.41: 0.75 + 1.41 * sqrt(ln 5 / 2) = 0.75 + 1.41 * 0.897095... = 2.014904...
    assert uct(1.5, 2, 5, 1.41) == pytest.approx(0.75 + 1.41 * math.sqrt(math.log(5) / 2))
    assert uct(1.5, 2, 5, 1.41) == pytest.approx(2.0149, abs=1e-4)
    assert uct(0.0, 0, 5, 1.41) == math.inf
    assert uct(0.8, 1, 1, 1.41) == pytest.approx(0.8)  # ln 1 = 0: no exploration bonus
    # the mean is mapped to [0, 1] by the tree's bounds: (0.75 - 0.7) / (0.8 - 0.7) = 0.5
    assert uct(1.5, 2, 1, 1.41, (0.7, 0.8)) == pytest.approx(0.5)
    assert uct(1.5, 2, 1, 1.41, (0.75, 0.75)) == pytest.approx(0.5)  # one value only: the middle


def _tree() -> Tree:
    tree = Tree()
    for node in [
        Node(1, None, 0, "establish_baseline", DONE),
        Node(2, 1, 1, "refine_data", DONE),
        Node(3, 1, 1, "adjust_training", DONE),
    ]:
        tree.add(node)
    return tree


def test_backpropagation_adds_visit_and_reward_along_the_path() -> None:
    tree = _tree()
    backpropagate(tree, 1, 0.5)
    backpropagate(tree, 2, 0.8)
    changed = backpropagate(tree, 3, 0.6)
    assert [n.id for n in changed] == [1, 3]
    root, a, b = tree.nodes[1], tree.nodes[2], tree.nodes[3]
    assert (root.visits, root.value) == (3, pytest.approx(1.9))
    assert (a.visits, a.value) == (1, pytest.approx(0.8))
    assert (b.visits, b.value) == (1, pytest.approx(0.6))


def test_mcts_selects_by_uct_over_all_expandable_nodes() -> None:
    tree = _tree()
    for node_id, reward in [(1, 0.5), (2, 0.8), (3, 0.6)]:
        backpropagate(tree, node_id, reward)
    selection = MCTS(c=1.41, scale="range").select(tree, expandable(tree, 4), random.Random(0))
    # means 0.633, 0.8, 0.6 -> normalized over the tree's bounds (0.6, 0.8): 1/6, 1, 0
    # root: 1/6 + 1.41*sqrt(ln3/3); node 2: 1 + 1.41*sqrt(ln3/1); node 3: 0 + same bonus
    assert selection.scores[1] == pytest.approx(1 / 6 + 1.41 * math.sqrt(math.log(3) / 3))
    assert selection.scores[2] == pytest.approx(1.0 + 1.41 * math.sqrt(math.log(3)))
    assert selection.scores[3] == pytest.approx(1.41 * math.sqrt(math.log(3)))
    assert selection.node_id == 2
    assert MCTS(c=0.0).select(tree, expandable(tree, 4), random.Random(0)).node_id == 2


def test_mcts_backtracks_from_a_poor_newest_leaf() -> None:
    # a chain 1 -> 2 -> 4 where the newest leaf (4) fell back: with a small c, MCTS returns to 2;
    # SES would take 4 and GBFS takes 2 by its raw reward.
    tree = _tree()
    tree.add(Node(4, 2, 2, "synthetic_data", DONE))
    for node_id, reward in [(1, 0.80), (2, 0.84), (3, 0.81), (4, 0.79)]:
        tree.nodes[node_id].reward = reward
        backpropagate(tree, node_id, reward)
    candidates = expandable(tree, 4)
    assert MCTS(c=0.3, scale="range").select(tree, candidates, random.Random(0)).node_id == 2
    # on the noise scale, node 3 (0.81, one visit) is a quarter standard error below node 2's mean 0.815: c=2 tries it
    assert MCTS(c=2.0, scale="noise", floor=0.02).select(tree, candidates, random.Random(0)).node_id == 3
    assert SES().select(tree, candidates, random.Random(0)).node_id == 4


def test_unvisited_node_is_selected_first() -> None:
    tree = _tree()
    backpropagate(tree, 1, 0.9)
    backpropagate(tree, 2, 0.9)
    assert MCTS().select(tree, expandable(tree, 4), random.Random(0)).node_id == 3


def test_failed_and_full_nodes_are_not_expandable() -> None:
    tree = _tree()
    tree.nodes[3].status = FAILED
    assert [n.id for n in expandable(tree, 4)] == [1, 2]
    assert [n.id for n in expandable(tree, 2)] == [2]  # root already has two children


def test_gbfs_ses_random() -> None:
    tree = _tree()
    tree.nodes[1].reward, tree.nodes[2].reward, tree.nodes[3].reward = 0.5, 0.4, 0.7
    candidates = expandable(tree, 4)
    assert GBFS().select(tree, candidates, random.Random(0)).node_id == 3
    assert SES().select(tree, candidates, random.Random(0)).node_id == 3
    picks = {RandomPolicy().select(tree, candidates, random.Random(s)).node_id for s in range(30)}
    assert picks == {1, 2, 3}
    assert RandomPolicy().select(tree, candidates, random.Random(7)) == RandomPolicy().select(
        tree, candidates, random.Random(7)
    )


def test_make_policy_rejects_unknown() -> None:
    assert make_policy("mcts", 2.0).c == 2.0
    with pytest.raises(ValueError, match="unknown policy"):
        make_policy("beam")


def _five_nodes(with_failure: bool, failure: str = "lowest") -> Tree:
    # 1 -> {2 -> 4, 3 -> 5}; node 5 failed (or is absent)
    tree = Tree()
    rewards = {1: 0.82, 2: 0.84, 3: 0.80, 4: 0.86}
    for node in [
        Node(1, None, 0, "b", DONE),
        Node(2, 1, 1, "r", DONE),
        Node(3, 1, 1, "s", DONE),
        Node(4, 2, 2, "a", DONE),
    ]:
        tree.add(node)
        node.reward = rewards[node.id]
        backpropagate(tree, node.id, node.reward)
    if with_failure:
        failed = tree.add(Node(5, 3, 2, "a", FAILED, reward=0.0))
        backpropagate(tree, failed.id, 0.0, failure=failure)
    return tree


def test_a_failed_node_does_not_change_the_bounds() -> None:
    clean, failed = _five_nodes(False), _five_nodes(True)
    assert value_bounds(failed) == pytest.approx(value_bounds(clean))
    assert value_bounds(failed) == pytest.approx((0.80, 0.86))
    # the failure adds the lowest finished reward (0.80) to its ancestors, not 0
    assert failure_value(failed) == pytest.approx(0.80)
    assert failed.nodes[3].value == pytest.approx(0.80 + 0.80) and failed.nodes[3].visits == 2
    assert failed.nodes[1].value / failed.nodes[1].visits == pytest.approx((0.82 + 0.84 + 0.80 + 0.86 + 0.80) / 5)
    # backpropagating 0 instead would stretch the range down to node 3's mean 0.40
    assert value_bounds(_five_nodes(True, failure="zero"))[0] == pytest.approx(0.40)
    candidates = expandable(failed, 4)
    assert 5 not in {n.id for n in candidates}
    assert (
        MCTS(c=0.3).select(failed, candidates, random.Random(0)).node_id
        == MCTS(c=0.3).select(clean, expandable(clean, 4), random.Random(0)).node_id
    )


def test_a_plateau_normalizes_every_node_to_the_middle() -> None:
    tree = _tree()
    for node_id in (1, 2, 3):
        backpropagate(tree, node_id, 0.1 + 0.2)  # 0.30000000000000004: equal up to float error
    tree.nodes[2].value = 0.3  # exactly 0.3
    low, high = value_bounds(tree, floor=0.0)
    assert high - low < 1e-9
    scores = MCTS(c=0.0, scale="range").select(tree, expandable(tree, 4), random.Random(0)).scores
    assert {round(v, 9) for v in scores.values()} == {0.5}
    scores = MCTS(c=0.0, scale="noise").select(tree, expandable(tree, 4), random.Random(0)).scores
    assert {round(v, 9) for v in scores.values()} == {1.0}


def test_the_range_has_a_floor_of_one_standard_error() -> None:
    tree = _tree()
    for node_id, reward in [(1, 0.800), (2, 0.805), (3, 0.795)]:
        backpropagate(tree, node_id, reward)
    # means 0.8, 0.805, 0.795: a 0.01 spread of noise is not stretched to [0, 1]
    assert value_bounds(tree, floor=0.0) == pytest.approx((0.795, 0.805))
    assert value_bounds(tree, floor=0.05) == pytest.approx((0.775, 0.825))
    scores = MCTS(c=0.0, floor=0.05, scale="range").select(tree, expandable(tree, 4), random.Random(0)).scores
    assert scores[2] == pytest.approx(0.6) and scores[3] == pytest.approx(0.4)
    assert value_bounds(tree, floor=DEFAULT_FLOOR) == pytest.approx((0.79, 0.81))


def test_uct_descent_goes_down_through_the_best_child() -> None:
    tree = _tree()
    tree.add(Node(4, 2, 2, "synthetic_data", DONE))
    for node_id, reward in [(1, 0.80), (2, 0.86), (3, 0.81), (4, 0.84)]:
        backpropagate(tree, node_id, reward)
    # the root is still expandable (2 of 4 children): the textbook expands it before descending
    assert UCTDescent(c=0.3, scale="range").select(tree, expandable(tree, 4), random.Random(0)).node_id == 1
    # once the root is full, descent compares its children against the root's visits
    selection = UCTDescent(c=0.3, scale="range").select(tree, expandable(tree, 2), random.Random(0))
    assert selection.node_id == 2
    bounds = value_bounds(tree)
    assert selection.scores[3] == pytest.approx(uct(0.81, 1, 4, 0.3, bounds))
    assert make_policy("uct_descent").name == "uct_descent"


def test_the_noise_scale_counts_standard_errors_below_the_best_mean() -> None:
    tree = _tree()
    for node_id, reward in [(1, 0.70), (2, 0.85), (3, 0.83)]:
        backpropagate(tree, node_id, reward)
    # means 0.70, 0.85, 0.83 (root 0.793): one standard error 0.02 below the best maps to 0
    assert value_bounds(tree, floor=0.02, scale="noise") == pytest.approx((0.83, 0.85))
    scores = MCTS(c=0.0, floor=0.02, scale="noise").select(tree, expandable(tree, 4), random.Random(0)).scores
    assert scores[2] == pytest.approx(1.0) and scores[3] == pytest.approx(0.0)
    # the root's lower mean does not set the scale: the range scale would put node 3 at 0.65
    root_mean = (0.70 + 0.85 + 0.83) / 3
    assert MCTS(c=0.0, scale="range").select(tree, expandable(tree, 4), random.Random(0)).scores[3] == pytest.approx(
        (0.83 - root_mean) / (0.85 - root_mean)
    )
    # within a standard error the exploration term decides: node 2's mean 0.845 at 2 visits against node 3's 0.83
    tree.add(Node(4, 2, 2, "synthetic_data", DONE))
    backpropagate(tree, 4, 0.84)
    selection = MCTS(c=2.0, floor=0.02, scale="noise").select(tree, expandable(tree, 4), random.Random(0))
    assert selection.scores[2] == pytest.approx(1.0 + 2.0 * math.sqrt(math.log(4) / 2))
    assert selection.scores[3] == pytest.approx(0.25 + 2.0 * math.sqrt(math.log(4)))
    assert selection.node_id == 2


def test_the_floor_is_one_standard_error_of_the_measured_interval() -> None:
    # an accuracy of 0.85 on 200 rows: 95% interval about 0.80-0.90, one standard error 0.1 / 3.92
    assert standard_error(0.80, 0.90) == pytest.approx(0.0255, abs=1e-4)
    assert standard_error(1.0, 1.0) == DEFAULT_FLOOR  # a bootstrap that measured no spread: the default
    tree = _tree()
    for node_id, reward in [(1, 0.70), (2, 0.85), (3, 0.84)]:
        backpropagate(tree, node_id, reward)
    # node 3 is 0.01 below the best: within the noise of 200 rows it still competes on its visits ...
    wide = MCTS(c=2.0, floor=standard_error(0.80, 0.90)).select(tree, expandable(tree, 4), random.Random(0))
    assert wide.scores[3] == pytest.approx(1 - 0.01 / 0.0255 + 2.0 * math.sqrt(math.log(3)), abs=1e-3)
    # ... on 20,000 rows (a tenth of the standard error) it is ten standard errors below and left alone
    narrow = MCTS(c=2.0, floor=standard_error(0.845, 0.855)).select(tree, expandable(tree, 4), random.Random(0))
    assert narrow.scores[3] < narrow.scores[2] - 1.0
