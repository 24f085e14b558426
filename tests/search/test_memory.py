"""memory_context: path, siblings and critical nodes, condensed deterministically to a budget."""

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


def test_sections_hold_path_children_and_critical_nodes() -> None:
    text = memory_context(_tree(), 2, budget_tokens=1000)
    lines = text.splitlines()
    assert lines[0] == "Path from the root (newest first):"
    assert lines[1].startswith("- node 2 ") and lines[2].startswith("- node 1 ")
    assert "Already tried under the same parent:" in lines
    assert any(line.startswith("- node 4 ") for line in lines) and any(line.startswith("- node 5 ") for line in lines)
    assert "Critical nodes of the tree:" in lines
    at = next(i for i, line in enumerate(lines) if "node 3" in line and "failed" in line)  # a failure elsewhere
    assert lines[at + 1 : at + 3] == ["    c1: oom: killed", "    c2: oom: killed"]  # with its first insights


def test_critical_nodes_rank_gains_then_failures() -> None:
    assert [n.id for n in critical_nodes(_tree())] == [2, 4, 3]


def test_budget_is_respected_and_output_deterministic() -> None:
    tree = _tree()
    full = memory_context(tree, 2, budget_tokens=1000)
    small = memory_context(tree, 2, budget_tokens=30)
    assert len(small) <= 30 * 4
    assert small.splitlines()[0] == "Path from the root (newest first):"
    assert full.startswith(small.splitlines()[0])
    assert memory_context(tree, 2, budget_tokens=30) == small
    assert len(small) < len(full)
