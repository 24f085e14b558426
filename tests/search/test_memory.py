"""memory_context: path, siblings and critical nodes (changes beyond the 95% intervals, failures, whole
insights), condensed deterministically to a budget."""

from __future__ import annotations

from trex.search.memory import critical_nodes, memory_context
from trex.search.tree import DONE, FAILED, Node, Tree


def _tree() -> Tree:
    tree = Tree()
    tree.add(Node(1, None, 0, "establish_baseline", DONE, val_score=0.6, summary="root baseline"))
    tree.add(Node(2, 1, 1, "adjust_training", DONE, val_score=0.8, summary="warm start"))
    tree.add(
        Node(
            3,
            1,
            1,
            "refine_data",
            FAILED,
            summary="balanced data crashed",
            insights="c1: oom: killed\nc2: oom: killed\nc3",
        )
    )
    tree.add(Node(4, 2, 2, "adjust_training", DONE, val_score=0.82, summary="lower lr"))
    tree.add(Node(5, 2, 2, "refine_data", DONE, val_score=0.79, summary="length filter"))
    return tree


# 95% intervals of the nodes' validation scores: node 2 is clear of the root; 4 and 5 overlap node 2
INTERVALS = {1: (0.55, 0.65), 2: (0.75, 0.85), 4: (0.77, 0.87), 5: (0.74, 0.84)}


def test_sections_hold_path_children_and_critical_nodes() -> None:
    text = memory_context(_tree(), 2, budget_tokens=1000, intervals=INTERVALS)
    lines = text.splitlines()
    assert lines[0] == "Path from the root (newest first):"
    assert lines[1].startswith("- node 2 ") and lines[2].startswith("- node 1 ")
    assert "Already tried under the same parent:" in lines
    assert any(line.startswith("- node 4 ") for line in lines) and any(line.startswith("- node 5 ") for line in lines)
    assert any(line.startswith("Critical nodes of the tree") for line in lines)
    at = next(i for i, line in enumerate(lines) if "node 3" in line and "failed" in line)  # a failure elsewhere
    assert lines[at + 1 : at + 4] == ["    c1: oom: killed", "    c2: oom: killed", "    c3"]  # its whole insights


def test_critical_nodes_are_changes_beyond_the_intervals_then_failures() -> None:
    tree = _tree()
    # 4 (+0.02) and 5 (-0.01) sit inside node 2's interval: noise, not evidence
    assert [n.id for n in critical_nodes(tree, intervals=INTERVALS)] == [2, 3]
    tree.add(Node(6, 2, 2, "refine_data", DONE, val_score=0.6, summary="bad filter"))
    regressions = {**INTERVALS, 6: (0.52, 0.68)}
    assert [n.id for n in critical_nodes(tree, intervals=regressions)] == [2, 6, 3]  # a regression counts too
    assert [n.id for n in critical_nodes(tree)] == [3]  # without intervals no difference counts


def test_a_critical_node_keeps_its_whole_insight() -> None:
    tree = _tree()
    insight = "best config a: val 0.800 [0.750, 0.850]\nerror rate by label: x 0.10, y 0.40\n" + "\n".join(
        f"line {i}" for i in range(6)
    )
    tree.nodes[2].insights = insight
    text = memory_context(tree, 3, budget_tokens=2000, intervals=INTERVALS)  # node 2 is off the path of 3
    assert all(f"    line {i}" in text for i in range(6)) and "error rate by label" in text
    tight = memory_context(tree, 3, budget_tokens=60, intervals=INTERVALS)
    assert "line 5" not in tight or "line 0" in tight  # whole or absent, never cut inside


def test_budget_is_respected_and_output_deterministic() -> None:
    tree = _tree()
    full = memory_context(tree, 2, budget_tokens=1000, intervals=INTERVALS)
    small = memory_context(tree, 2, budget_tokens=30, intervals=INTERVALS)
    assert len(small) <= 30 * 4
    assert small.splitlines()[0] == "Path from the root (newest first):"
    assert full.startswith(small.splitlines()[0])
    assert memory_context(tree, 2, budget_tokens=30, intervals=INTERVALS) == small
    assert len(small) < len(full)


def test_a_critical_ancestor_on_the_path_keeps_its_insights_and_the_node_itself_is_not_repeated() -> None:
    tree = _tree()
    tree.nodes[2].insights = "best config a: val 0.800 [0.750, 0.850]\ntraining loss 2.000 -> 0.500 over 64 steps"
    below = memory_context(tree, 4, budget_tokens=2000, intervals=INTERVALS)  # node 2 is node 4's parent
    assert below.splitlines()[2].startswith("- node 2 ")  # its path line ...
    assert "    training loss 2.000 -> 0.500 over 64 steps" in below  # ... and its insights among the critical
    itself = memory_context(tree, 2, budget_tokens=2000, intervals=INTERVALS)
    assert "training loss 2.000" not in itself  # planning from node 2: the prompt shows it whole already
