"""Table 4 from a run (issue 38, item 4): per strategy type, nodes attempted, succeeded and improved over their parent,
in `trex status --json`, in `bench run`'s row and in bench.md, from a hand-built store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from trex.bench.run import BenchRow, strategy_counts
from trex.bench.table import markdown_table
from trex.report.status import run_status
from trex.search.policies import backpropagate
from trex.search.tree import DONE, FAILED
from trex.store import Store


def _node(store: Store, parent: int | None, strategy: str, val: float | None) -> int:
    plan = json.dumps({"strategy": strategy, "change": strategy, "rationale": "r"})
    node_id = store.add_node(parent, 0 if parent is None else 1, strategy, plan, [])
    tree = store.load_tree()
    node = tree.nodes[node_id]
    node.status, node.val_score, node.reward = (DONE if val is not None else FAILED), val, val or 0.0
    store.finish_node(node, None, "", None if val is not None else "boom", backpropagate(tree, node_id, val or 0.0))
    return node_id


def _run(tmp_path: Path) -> Store:
    store = Store(tmp_path)
    store.set_meta("base", {"val": 0.5, "test": 0.5})
    root = _node(store, None, "establish_baseline", 0.6)  # above the base model: improved
    better = _node(store, root, "refine_data", 0.7)
    _node(store, root, "refine_data", 0.55)  # succeeded, not improved
    _node(store, root, "synthetic_data", None)  # failed
    _node(store, better, "adjust_training", 0.75)
    _node(store, better, "build_training_set", 0.65)  # a strategy beyond the paper's four is counted too
    store.add_node(better, 2, "adjust_training", json.dumps({"strategy": "adjust_training"}), [])  # still running
    return store


EXPECTED = {
    "establish_baseline": {"attempted": 1, "succeeded": 1, "improved": 1},
    "refine_data": {"attempted": 2, "succeeded": 2, "improved": 1},
    "synthetic_data": {"attempted": 1, "succeeded": 0, "improved": 0},
    "adjust_training": {"attempted": 2, "succeeded": 1, "improved": 1},
    "build_training_set": {"attempted": 1, "succeeded": 1, "improved": 0},
}


def test_status_json_counts_each_strategy(tmp_path: Path) -> None:
    store = _run(tmp_path)
    assert run_status(store)["strategies"] == EXPECTED
    store.close()
    out = subprocess.run(
        [sys.executable, "-m", "trex", "status", str(tmp_path), "--json"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["strategies"] == EXPECTED


def test_bench_counts_the_same_and_prints_table_4(tmp_path: Path) -> None:
    store = _run(tmp_path)
    counts = strategy_counts(store)
    assert {name: c.model_dump() for name, c in counts.items()} == EXPECTED
    row = BenchRow(name="t", title="T", metric="accuracy", paper_reference=0.9, paper_base=0.5, by_strategy=counts)
    table = markdown_table([row, row.model_copy(update={"name": "u"})])  # two tasks: summed per strategy
    assert "| strategy | attempted | succeeded | improved | success rate | improvement rate |" in table
    assert "| refine_data | 4 | 4 | 2 | 100% | 50% |" in table
    assert "| synthetic_data | 2 | 0 | 0 | 0% | – |" in table
    assert "| total | 14 | 10 | 6 | 71% | 60% |" in table
    store.close()
