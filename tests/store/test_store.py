"""The SQLite store: WAL mode, nodes with jobs, atomic finish with backpropagation, reload, events."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from trex.search.policies import backpropagate
from trex.search.tree import DONE, RUNNING
from trex.store import Store, StoreError


def test_store_round_trip(tmp_path: Path) -> None:
    store = Store(tmp_path)
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    root = store.add_node(
        None, 0, "establish_baseline", '{"p": 1}', [("h1", '{"a": 1}', "base"), ("h2", '{"b": 2}', "c1")]
    )
    child = store.add_node(root, 1, "refine_data", "{}", [("h2", '{"b": 2}', "c1")])  # shares job h2
    assert [j["hash"] for j in store.node_jobs(root)] == ["h1", "h2"]
    assert [j["name"] for j in store.node_jobs(child)] == ["c1"]

    store.finish_job("h2", "ok", '{"x": 1}', str(tmp_path / "w"))
    assert store.node_jobs(child)[0]["result"] == '{"x": 1}'  # the shared job is finished for both nodes
    assert store.count_finished_jobs() == 1

    tree = store.load_tree()
    node = tree.nodes[child]
    node.status, node.val_score, node.reward, node.summary = DONE, 0.7, 0.7, "s"
    store.finish_node(node, "h2", "insight", None, backpropagate(tree, child, 0.7))
    store.close()

    again = Store.open_existing(tmp_path)
    tree = again.load_tree()
    assert tree.nodes[child].status == DONE and tree.nodes[child].summary == "s"
    assert (tree.nodes[root].visits, tree.nodes[root].value) == (1, pytest.approx(0.7))
    assert tree.nodes[root].children == [child]
    assert [n.id for n in tree.nodes.values() if n.status == RUNNING] == [root]
    assert again.node_row(child)["insights"] == "insight"
    assert [e["kind"] for e in again.events()] == ["node_created", "node_created", "job_finished", "node_finished"]


def test_meta_and_missing_workspace(tmp_path: Path) -> None:
    store = Store(tmp_path / "ws")
    store.set_meta("base", {"val": 0.5})
    assert store.get_meta("base") == {"val": 0.5}
    assert store.get_meta("nothing", 3) == 3
    with pytest.raises(StoreError, match="no trex run"):
        Store.open_existing(tmp_path / "empty")


def test_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with pytest.raises(sqlite3.IntegrityError):
        store.add_node(999, 1, "x", "{}", [("h", "{}", "a")])  # no parent 999: the foreign key fails
    assert len(store.load_tree()) == 0
    assert store.events() == []
    assert store.job("h") is None


def test_jobs_come_back_typed(tmp_path: Path) -> None:
    from trex.evaluation.config import EvalConfig
    from trex.runtime.job import Job, JobResult

    job = Job(base_model="m", eval=EvalConfig(validation="v", test="t", prompt_template="{text}", choices={"a": " a"}))
    store = Store(tmp_path)
    node = store.add_node(None, 0, "establish_baseline", "{}", [(job.content_hash(), job.model_dump_json(), "c1")])
    [pending] = store.jobs_of(node)
    assert (pending.name, pending.idx, pending.job, pending.result) == ("c1", 0, job, None)
    result = JobResult(job_hash=job.content_hash(), status="ok", seconds=2.0)
    store.finish_job(job.content_hash(), "ok", result.model_dump_json(), str(tmp_path))
    assert store.jobs_of(node)[0].result == result
    assert store.job(job.content_hash()).job == job and store.job("nothing") is None
