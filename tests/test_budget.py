"""Budgets: which limit stops a run, GPU-hours from recorded jobs, cancellation past the grace period, the last node
of a wall-clock budget."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from trex.budget import JobEstimate, StepCost, Usage, exhausted, final_steps, job_deadline
from trex.llm.client import LLMReply
from trex.runtime.job import JobResult
from trex.store import Store
from trex.task import Limits


def _usage(**changes: float) -> Usage:
    return Usage(**{"nodes": 3, "wall_s": 10.0, "gpu_hours": 0.0, "llm_usd": 0.0, "llm_tokens": 0, **changes})


def test_exhausted_names_the_first_limit_reached() -> None:
    limits = Limits(wall_clock_minutes=1, gpu_hours=2, llm_usd=0.5)
    assert exhausted(limits, _usage(), target_nodes=5) is None
    assert exhausted(limits, _usage(nodes=5), target_nodes=5) == ("iterations", "reached 5 nodes")
    assert exhausted(limits, _usage(wall_s=60.0))[0] == "wall_clock_minutes"
    assert exhausted(limits, _usage(gpu_hours=2.5)) == ("gpu_hours", "GPU-hour limit of 2 reached (2.500 used)")
    reason = exhausted(limits, _usage(llm_usd=0.51))
    assert reason == ("llm_usd", "LLM budget of 0.5 USD reached (0.5100 USD spent)")
    assert exhausted(Limits(), _usage(wall_s=1e9, gpu_hours=1e9, llm_usd=1e9)) is None  # no limits set


def test_job_deadline_is_the_nearest_limit_plus_grace() -> None:
    limits = Limits(wall_clock_minutes=10, gpu_hours=1, grace_minutes=2)
    now = time.time()
    # 600 s - 300 s of wall clock left; 0.5 GPU-h left on 2 GPUs = 900 s: the wall clock is nearer
    deadline = job_deadline(limits, _usage(wall_s=300.0, gpu_hours=0.5), gpus_in_use=2)
    assert deadline == pytest.approx(now + 300 + 120, abs=2)
    deadline = job_deadline(limits, _usage(wall_s=0.0, gpu_hours=0.9), gpus_in_use=4)  # 0.1 h / 4 = 90 s
    assert deadline == pytest.approx(now + 90 + 120, abs=2)
    assert job_deadline(Limits(gpu_hours=1), _usage(), gpus_in_use=0) is None  # CPU: GPU-hours never run out
    assert job_deadline(limits, _usage(wall_s=9999.0), gpus_in_use=0) == pytest.approx(now + 120, abs=2)


def test_gpu_hours_sum_recorded_jobs(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.add_node(None, 0, "establish_baseline", "{}", [("a", "{}", "x"), ("b", "{}", "y"), ("c", "{}", "z")])
    store.finish_job("a", "ok", JobResult(job_hash="a", status="ok", seconds=1800, gpus=1).model_dump_json(), "")
    store.finish_job("b", "failed", JobResult.failure("b", "boom", "crash", 3600).model_dump_json(), "")
    assert store.gpu_hours() == pytest.approx(0.5)  # b ran on CPU (gpus=0)
    store.finish_job("b", "ok", JobResult(job_hash="b", status="ok", seconds=900, gpus=2).model_dump_json(), "")
    assert store.gpu_hours() == pytest.approx(1.0)
    store.close()


def test_llm_researcher_keeps_counting_after_a_resume(tmp_path: Path, tiny_task) -> None:
    from trex.agents.researcher import LLMResearcher
    from trex.llm.client import ScriptedClient

    store = Store(tmp_path)
    store.set_meta("llm_usage", {"prompt_tokens": 1000, "completion_tokens": 200, "usd": 0.25})
    researcher = LLMResearcher(tiny_task, ScriptedClient([]), store)
    researcher.usage.prices["gpt-4o-mini"] = (0.15, 0.6)  # prices are decided by trex.llm.pricing, not here
    researcher.usage.charge("gpt-4o-mini", LLMReply(text="{}", prompt_tokens=10, completion_tokens=5))
    assert researcher.usage.prompt_tokens == 1010 and researcher.usage.usd > 0.25
    store.close()


def test_wall_clock_limit_cancels_jobs_and_a_resume_finishes_the_node(tmp_path: Path, tiny_task) -> None:
    from tests.fakes import FakeScheduler
    from trex.loop import RunOptions, SearchLoop, start_run

    task = tiny_task.model_copy(update={"limits": tiny_task.limits.model_copy(update={"grace_minutes": 0.0})})
    task_file = Path(__file__).resolve().parents[1] / "examples" / "tasks" / "tiny.yaml"
    options = RunOptions(iterations=2, wall_clock_minutes=0.05)  # 3 s: less than the root's three 2-s jobs
    store = start_run(tmp_path / "ws", task, task_file, options)
    started = time.time()
    summary = SearchLoop(store, task, options, scheduler=FakeScheduler(seconds=lambda job: 2.0)).run()
    assert time.time() - started < 5.5  # cancelled, not run to the end
    assert summary.stopped_by == "wall_clock_minutes" and "grace period" in summary.stop_reason
    assert store.load_tree().nodes[1].status == "running"  # left for a resume, not failed
    assert store.events("job_cancelled")
    assert store.get_meta("stopped")["limit"] == "wall_clock_minutes"
    kept = {r["hash"] for r in store.node_jobs(1) if r["result"] is not None}

    more = RunOptions(iterations=1, wall_clock_minutes=30)
    summary = SearchLoop(store, task, more, scheduler=FakeScheduler(seconds=lambda job: 0.1)).run()
    assert summary.stopped_by == "iterations" and summary.best_val is not None
    node_jobs = store.node_jobs(1)
    assert all(r["result"] is not None for r in node_jobs)
    assert kept <= {r["hash"] for r in node_jobs}
    assert store.get_meta("elapsed_s") > 3  # wall clock counts every session
    store.close()


def test_the_last_node_gets_the_steps_the_wall_clock_left_pays_for() -> None:
    limits, cost = Limits(wall_clock_minutes=10), StepCost(fixed_s=20.0, step_s=2.0)
    estimate = JobEstimate(seconds=100.0, gpus=0.0)  # a node of 2 configs on 1 slot: 200 s
    assert final_steps(limits, _usage(wall_s=100.0), estimate, cost, 2, 1, 0) is None  # 500 s left: 2 more nodes
    # 300 s left: one more node; 300 x 0.9 less the job's and the test scoring's fixed cost, at 2 s a step
    assert final_steps(limits, _usage(wall_s=300.0), estimate, cost, 2, 1, 0) == 115
    assert final_steps(limits, _usage(wall_s=300.0), estimate, cost, 2, 1, jobs_in_flight=1) is None
    assert final_steps(limits, _usage(wall_s=300.0), estimate, cost, 2, 2, 0) is None  # 2 slots: a node is 100 s
    assert final_steps(limits, _usage(wall_s=590.0), estimate, cost, 2, 1, 0) is None  # no room for 4 steps
    assert final_steps(Limits(), _usage(wall_s=300.0), estimate, cost, 2, 1, 0) is None  # no wall clock limit


def test_the_last_node_of_a_wall_clock_budget_continues_the_best_config(tmp_path: Path, tiny_task) -> None:
    from tests.fakes import FakeScheduler
    from trex.loop import RunOptions, SearchLoop, start_run

    task_file = Path(__file__).resolve().parents[1] / "examples" / "tasks" / "tiny.yaml"
    options = RunOptions(iterations=20, wall_clock_minutes=0.1)  # 6 s; the root's two 6-step jobs take 3 s
    store = start_run(tmp_path / "ws", tiny_task, task_file, options)
    scheduler = FakeScheduler(seconds=lambda job: 0.25 * job.train.max_steps if job.train else 0.0)
    summary = SearchLoop(store, tiny_task, options, scheduler=scheduler).run()
    tree = store.load_tree()
    assert len(tree) == 2 and summary.stopped_by == "wall_clock_minutes" and not store.events("job_cancelled")
    last = store.events("selection")[-1]
    assert last["node_id"] == 1 and last["data"]["policy"] == "last-node-best"
    best_job = store.node_row(1)["best_job"]
    jobs = [stored.job for stored in store.jobs_of(2)]
    assert len(jobs) == 1  # one slot: one config takes all the time left
    assert jobs[0].train.init_from_job == best_job and jobs[0].train.max_steps >= 4
    assert jobs[0].train.learning_rate == store.job(best_job).job.train.learning_rate
    store.close()


def test_no_config_is_planned_longer_than_the_job_timeout_allows(tmp_path: Path, tiny_task) -> None:
    from tests.fakes import FakeScheduler
    from trex.loop import RunOptions, SearchLoop, start_run

    task_file = Path(__file__).resolve().parents[1] / "examples" / "tasks" / "tiny.yaml"
    limits = tiny_task.limits.model_copy(update={"job_timeout_minutes": 0.01})  # 0.6 s: 80% of it pays 4 steps
    task = tiny_task.model_copy(update={"limits": limits})
    store = start_run(tmp_path / "ws", task, task_file, RunOptions(iterations=4))
    scheduler = FakeScheduler(seconds=lambda job: 0.1 * job.train.max_steps if job.train else 0.0)
    SearchLoop(store, task, RunOptions(iterations=4), scheduler=scheduler).run()
    steps = {n: [s.job.train.max_steps for s in store.jobs_of(n) if s.job.train] for n in store.load_tree().nodes}
    assert steps[1] == [6, 6]  # nothing measured yet: the root is planned as asked
    assert len(steps) == 4 and all(0 < s <= 4 for n in (2, 3, 4) for s in steps[n]), steps
    store.close()
