"""What the loop gives a researcher to plan a child: the parent's other children as siblings (those in flight too)
and every other node in flight elsewhere in the tree (``PlanContext.in_flight``), from a hand-built store."""

from __future__ import annotations

from pathlib import Path

from trex.agents.heuristic.researcher import HeuristicResearcher
from trex.plan import BudgetLeft
from trex.run.node_end import plan_context
from trex.search.policies import backpropagate
from trex.search.tree import DONE
from trex.store import Store


def test_siblings_and_the_nodes_in_flight_elsewhere(tiny_task, tmp_path: Path) -> None:
    store = Store(tmp_path)
    plan = HeuristicResearcher(tiny_task).root_plan().model_dump_json()

    def node(parent: int | None, done: bool) -> int:
        node_id = store.add_node(parent, 0 if parent is None else 1, "establish_baseline", plan, [])
        if done:
            tree = store.load_tree()
            tree.nodes[node_id].status, tree.nodes[node_id].val_score = DONE, 0.6
            store.finish_node(tree.nodes[node_id], None, "", None, backpropagate(tree, node_id, 0.6))
        return node_id

    root = node(None, True)
    a, b = node(root, True), node(root, False)
    c, d = node(a, False), node(a, True)
    tree = store.load_tree()
    under_root = plan_context(store, tree, root, "", 0, BudgetLeft())
    assert [s.id for s in under_root.siblings] == [a, b] and [n.id for n in under_root.in_flight] == [c]
    under_a = plan_context(store, tree, a, "", 0, BudgetLeft())
    assert [s.id for s in under_a.siblings] == [c, d] and [n.id for n in under_a.in_flight] == [b]
    assert under_a.in_flight[0].status == "running" and under_a.in_flight[0].parent == root
    store.close()
