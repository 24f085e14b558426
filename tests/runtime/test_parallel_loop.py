"""Several nodes in flight, through the real loop on a FakeScheduler (canned results, real slots, no training)."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from tests.fakes import FakeScheduler
from trex.run.executor import plan_jobs
from trex.run.loop import SearchLoop
from trex.run.options import RunOptions, default_parallel_nodes
from trex.search.tree import RUNNING
from trex.store import Store


def _loop(tmp_path: Path, task, scheduler: FakeScheduler, **options: object) -> SearchLoop:
    store = Store(tmp_path / "ws")
    return SearchLoop(store, task, RunOptions(**options), scheduler=scheduler)


def _no_slot_held_twice(runs: list[tuple[str, str | None, float, float]]) -> None:
    by_gpu: dict[str | None, list[tuple[float, float]]] = {}
    for _, gpu, start, end in runs:
        by_gpu.setdefault(gpu, []).append((start, end))
    for intervals in by_gpu.values():
        intervals.sort()
        assert all(a[1] <= b[0] for a, b in zip(intervals, intervals[1:], strict=False)), (
            "two jobs held one slot at once"
        )


def test_default_parallel_nodes_fills_the_slots() -> None:
    assert default_parallel_nodes(1, 3) == 1  # make demo on a CPU: one node at a time
    assert default_parallel_nodes(8, 3) == 3
    assert default_parallel_nodes(32, 3) == 11
    assert default_parallel_nodes(4, 5) == 1


def test_parallel_search_keeps_several_nodes_in_flight(tmp_path: Path, tiny_task) -> None:
    scheduler = FakeScheduler(gpus=4, seconds=lambda job: 0.3 if job.train else 0.05)
    loop = _loop(tmp_path, tiny_task, scheduler, iterations=9)
    assert loop.parallel_nodes == 2  # ceil(4 slots / 2 configs)
    summary = loop.run()
    store = loop.store
    tree = store.load_tree()
    assert summary.nodes == len(tree) == 9 and summary.stopped_by == "iterations"
    assert all(n.status != RUNNING for n in tree.nodes.values())
    hashes = [h for h, *_ in scheduler.runs]
    assert len(hashes) == len(set(hashes)), "a job ran twice"
    assert set(hashes) == {r["hash"] for n in tree.nodes for r in store.node_jobs(n)}
    _no_slot_held_twice(scheduler.runs)
    finished = Counter(e["data"]["hash"] for e in store.events("job_finished"))
    assert set(finished.values()) == {1}
    # each node was planned after its parent finished; some selections happened with a node pending
    created = {e["node_id"]: e["ts"] for e in store.events("node_created")}
    done = {e["node_id"]: e["ts"] for e in store.events("node_finished")}
    assert all(done[n.parent] <= created[n.id] for n in tree.nodes.values() if n.parent is not None)
    assert any(e["data"]["pending"] for e in store.events("selection"))
    assert tree.root.visits == 9


def test_pending_siblings_show_in_the_memory_as_running(tmp_path: Path, tiny_task) -> None:
    seen: list = []
    scheduler = FakeScheduler(gpus=4, seconds=lambda job: 0.4 if job.train else 0.0)
    loop = _loop(tmp_path, tiny_task, scheduler, iterations=4, parallel_nodes=3)
    plan = loop.researcher.plan
    loop.researcher.plan = lambda context: seen.append(context) or plan(context)  # type: ignore[method-assign]
    loop.run()
    assert any("running: " in context.memory for context in seen)
    # the jobs in flight reach the surrogate too (as RUNNING trials: trex.agents.proposals), with their settings
    pending = [job for context in seen for job in context.pending]
    rates = {job.train.learning_rate for n in loop.store.load_tree().nodes for job in _trains(loop.store, n)}
    assert pending and all(job.score is None and job.params["learning_rate"] in rates for job in pending)


def _trains(store: Store, node_id: int) -> list:
    return [stored.job for stored in store.jobs_of(node_id) if stored.job.train is not None]


def test_parallel_one_is_the_sequential_tree(tmp_path: Path, tiny_task) -> None:
    def shape(loop: SearchLoop) -> list[tuple]:
        return [(n.id, n.parent, n.strategy) for n in loop.store.load_tree().nodes.values()]

    one = _loop(tmp_path / "a", tiny_task, FakeScheduler(gpus=4), iterations=6, parallel_nodes=1)
    one.run()
    again = _loop(tmp_path / "b", tiny_task, FakeScheduler(gpus=1), iterations=6)
    assert again.parallel_nodes == 1
    again.run()
    assert shape(one) == shape(again)


def test_resume_completes_every_unfinished_node_first(tmp_path: Path, tiny_task) -> None:
    slow = FakeScheduler(gpus=4, fits_training=False)  # the children's jobs hang: the budget cancels them
    slow.seconds = lambda job: 0.05 if len(slow.runs) < 3 else 30.0  # the root's three jobs are quick
    task = tiny_task.model_copy(update={"limits": tiny_task.limits.model_copy(update={"grace_minutes": 0})})
    loop = _loop(tmp_path, task, slow, iterations=3, parallel_nodes=2, wall_clock_minutes=0.03)
    summary = loop.run()  # the budget cancels the children's jobs: two unfinished nodes
    assert "grace period" in summary.stop_reason
    store = loop.store
    unfinished = [n.id for n in store.load_tree().nodes.values() if n.status == RUNNING]
    assert unfinished == [2, 3]
    fast = FakeScheduler(gpus=4)
    resumed = SearchLoop(store, tiny_task, RunOptions(iterations=6, parallel_nodes=2), scheduler=fast)
    resumed.run()
    created = {e["node_id"]: e["ts"] for e in store.events("node_created")}
    done = {e["node_id"]: e["ts"] for e in store.events("node_finished")}
    new = [n for n in created if n > max(unfinished)]
    assert new and all(done[u] <= created[n] for u in unfinished for n in new)
    finished = Counter(e["data"]["hash"] for e in store.events("job_finished"))
    assert set(finished.values()) == {1}, "a finished job ran again"
    assert len(store.load_tree()) == 6


def test_no_node_starts_that_the_budget_cannot_finish(tmp_path: Path, tiny_task) -> None:
    scheduler = FakeScheduler(gpus=2, seconds=lambda job: 0.6)
    loop = _loop(tmp_path, tiny_task, scheduler, iterations=50, wall_clock_minutes=0.05)  # 3 s
    started = time.time()
    summary = loop.run()
    assert time.time() - started < 3.5
    # it stops before a node it cannot finish ("cannot finish another node"), or after a last node sized to fit
    assert summary.stopped_by == "wall_clock_minutes"
    assert not loop.store.events("job_cancelled")  # it stopped before starting, not by cancelling


def test_gpu_hours_count_the_running_jobs(tmp_path: Path, tiny_task) -> None:
    scheduler = FakeScheduler(gpus=2, seconds=lambda job: 0.5)
    loop = _loop(tmp_path, tiny_task, scheduler, iterations=1)
    plan = loop.researcher.root_plan()
    node = loop._store_node(None, 0, plan, plan_jobs(loop.task, plan, 0, with_baseline=False))
    loop._start(node)
    time.sleep(0.3)
    assert loop.usage(1).gpu_hours == pytest.approx(2 * 0.3 / 3600, rel=0.5)  # two jobs, one GPU each, 0.3 s
    while loop.executor.in_flight:
        loop.executor.poll(1.0)


def test_status_and_report_show_the_nodes_in_flight_and_the_slots(tmp_path: Path, tiny_task) -> None:
    from trex.report.html import render_report
    from trex.report.status import run_status

    slow = FakeScheduler(gpus=4, fits_training=False)  # the children's jobs hang: the budget cancels them
    slow.seconds = lambda job: 0.05 if len(slow.runs) < 3 else 30.0
    task = tiny_task.model_copy(update={"limits": tiny_task.limits.model_copy(update={"grace_minutes": 0})})
    loop = _loop(tmp_path, task, slow, iterations=3, parallel_nodes=2, wall_clock_minutes=0.03)
    loop.run()
    flight = run_status(loop.store)["in_flight"]
    assert [n["node"] for n in flight] == [2, 3]
    assert {j["gpu"] for n in flight for j in n["jobs"]} <= {"0", "1", "2", "3"}
    page = render_report(loop.store)
    assert "Slots over time" in page and "node 2:" in page and "on gpu" in page


def test_the_gpu_hour_deadline_counts_every_slurm_job_in_flight(tmp_path: Path, tiny_task) -> None:
    pytest.importorskip("submitit")
    from trex.runtime.slurm import SlurmScheduler

    scheduler = SlurmScheduler(folder=tmp_path / "slurm", gpus=1, cluster="local")
    task = tiny_task.model_copy(update={"limits": tiny_task.limits.model_copy(update={"grace_minutes": 0})})
    loop = SearchLoop(Store(tmp_path / "ws"), task, RunOptions(gpu_hours=0.1), scheduler=scheduler)
    # 0.1 GPU-hours left, three one-GPU jobs in flight: 120 s, not the 360 s of one GPU
    assert loop._deadline(3) == pytest.approx(time.time() + 120, abs=5)


def test_selection_counts_in_standard_errors_of_the_measured_validation_interval(tmp_path: Path, tiny_task) -> None:
    from trex.search.policies import standard_error

    scheduler = FakeScheduler()  # canned validation intervals: the score +-0.02
    loop = _loop(tmp_path, tiny_task, scheduler, iterations=4)
    loop.run()
    floors = [e["data"]["floor"] for e in loop.store.events("selection")]
    assert len(floors) == 3
    low, high = tiny_task.eval.metric_range
    assert floors == [pytest.approx(standard_error(0.0, 0.04 / (high - low)), abs=1e-6)] * 3
