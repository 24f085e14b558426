"""Virtual visits of pending nodes, checked against hand-computed values; the real tree is never changed."""

from __future__ import annotations

import random

import pytest

from trex.search.policies import MCTS, uct, value_bounds
from trex.search.tree import DONE, RUNNING, Node, Tree
from trex.search.virtual_loss import with_virtual_loss


def small_tree() -> Tree:
    # root 0.75; A (2) 0.90 with a finished child of 0.90; B (3) 0.86 with a finished child of 0.86; 5 pending
    # under A.
    return Tree(
        [
            Node(1, None, 0, "establish_baseline", DONE, visits=5, value=4.27, reward=0.75),
            Node(2, 1, 1, "adjust_training", DONE, visits=2, value=1.8, reward=0.9),
            Node(3, 1, 1, "refine_data", DONE, visits=2, value=1.72, reward=0.86),
            Node(4, 2, 2, "refine_data", DONE, visits=1, value=0.9, reward=0.9),
            Node(5, 2, 2, "synthetic_data", RUNNING),
            Node(6, 3, 2, "adjust_training", DONE, visits=1, value=0.86, reward=0.86),
        ]
    )


def test_mean_rule_adds_a_visit_at_each_ancestors_own_mean() -> None:
    tree = small_tree()
    shadow = with_virtual_loss(tree, [5], rule="mean")
    assert (shadow.nodes[2].visits, shadow.nodes[2].value) == (3, pytest.approx(2.7))  # mean 0.9 kept
    assert (shadow.nodes[1].visits, shadow.nodes[1].value) == (6, pytest.approx(4.27 + 4.27 / 5))
    assert (shadow.nodes[3].visits, shadow.nodes[4].visits, shadow.nodes[5].visits) == (2, 1, 0)  # off the path
    assert (tree.nodes[2].visits, tree.nodes[1].visits) == (2, 5)  # the real tree is untouched


def test_lowest_rule_adds_the_lowest_finished_reward() -> None:
    shadow = with_virtual_loss(small_tree(), [5], rule="lowest")
    assert (shadow.nodes[2].visits, shadow.nodes[2].value) == (3, pytest.approx(1.8 + 0.75))
    assert (shadow.nodes[1].visits, shadow.nodes[1].value) == (6, pytest.approx(4.27 + 0.75))


def test_a_draw_keeps_the_best_place_in_play_where_a_loss_pushes_it_out() -> None:
    # On the noise scale (one standard error = 0.02) the loss puts node 2 2.5 standard errors below its own mean
    # (UCT 0.04 against node 3's 0.89); the draw only trims its exploration bonus (UCT 1.54: node 2 again).
    policy = MCTS(c=2.0, floor=0.02)
    for rule, expected in (("mean", 2), ("lowest", 3)):
        shadow = with_virtual_loss(small_tree(), [5], rule=rule)
        candidates = [shadow.nodes[i] for i in (2, 3)]
        selection = policy.select(shadow, candidates, random.Random(0))
        bounds = value_bounds(shadow, 0.02, "noise")
        node = shadow.nodes[2]
        assert selection.scores[2] == pytest.approx(uct(node.value, node.visits, shadow.nodes[1].visits, 2.0, bounds))
        assert selection.node_id == expected, rule


def test_pending_summaries_and_unknown_rule() -> None:
    shadow = with_virtual_loss(small_tree(), [5, 99], {5: "lr 2e-4, 64 steps"})
    assert shadow.nodes[5].summary == "running: lr 2e-4, 64 steps"
    with pytest.raises(ValueError, match="unknown virtual-visit rule 'zero'"):
        with_virtual_loss(small_tree(), [5], rule="zero")
