"""Budgets: which limit stops a run, GPU-hours from recorded jobs, cancellation past the grace period, the last node
of a wall-clock budget."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from trex.llm.client import LLMReply
from trex.plan import STEP_CEILING, BudgetLeft
from trex.run.budget import (
    TimedRun,
    Usage,
    after_train_s,
    exhausted,
    final_reserve,
    final_run,
    job_deadline,
    one_run,
    search_seconds,
    train_deadline,
)
from trex.run.calibration import CALIBRATION_STEPS
from trex.run.costs import JobEstimate, StepCost
from trex.runtime.job import JobResult, train_reserve
from trex.store import Store
from trex.task.spec import Limits
from trex.train.config import TrainConfig


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
    from trex.agents.llm.researcher import LLMResearcher
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
    from trex.run.loop import SearchLoop
    from trex.run.options import RunOptions
    from trex.run.workspace import start_run

    task = tiny_task.model_copy(update={"limits": tiny_task.limits.model_copy(update={"grace_minutes": 0.0})})
    task_file = Path(__file__).resolve().parents[2] / "examples" / "tasks" / "tiny.yaml"
    options = RunOptions(iterations=2, wall_clock_minutes=0.05)  # 3 s: less than the root's three 2-s jobs
    store, task = start_run(tmp_path / "ws", task, task_file, options)
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
    # the last node's reserve: two thirds of the budget (400 s); one more node (200 s) leaves that with 600 s left
    assert final_run(limits, _usage(wall_s=0.0), estimate, cost, 2, 1, 0) is None
    assert final_run(limits, _usage(wall_s=1.0), estimate, cost, 2, 1, 0) is not None
    # 300 s left: the last node; 300 x 0.95 less the job's and the test scoring's fixed cost: 245 s, 122 steps at
    # 2 s a step, up to twice that in case the pace is faster (the worker fits the steps to the seconds)
    last = final_run(limits, _usage(wall_s=300.0), estimate, cost, 2, 1, 0)
    assert last == TimedRun(steps=244, seconds=245.0) and last.paced_steps == 122
    assert final_run(limits, _usage(wall_s=300.0), estimate, cost, 2, 1, jobs_in_flight=1) is None
    # 2 slots: a node is 100 s; one node more leaves the reserve with 500 s left
    assert final_run(limits, _usage(wall_s=100.0), estimate, cost, 2, 2, 0) is None
    assert final_run(limits, _usage(wall_s=101.0), estimate, cost, 2, 2, 0) is not None
    assert final_run(limits, _usage(wall_s=590.0), estimate, cost, 2, 1, 0) is None  # no room for 4 steps
    assert final_run(Limits(), _usage(wall_s=300.0), estimate, cost, 2, 1, 0) is None  # no wall clock limit


def test_the_last_node_keeps_two_thirds_of_the_budget_up_to_what_one_job_may_train() -> None:
    demo = Limits(wall_clock_minutes=15, job_timeout_minutes=15)
    assert final_reserve(demo, node_s=160.0) == 600.0  # two thirds of 900 s
    assert final_reserve(demo, node_s=700.0) == 700.0  # never less than one node's time
    long = Limits(wall_clock_minutes=480, job_timeout_minutes=30)
    assert final_reserve(long, node_s=300.0) == 1530.0  # 85% of the timeout (TRAIN_SHARE): what one job may train
    # what a search node may take: the time left less the reserve
    estimate = JobEstimate(seconds=80.0, gpus=0.0)
    assert search_seconds(demo, _usage(wall_s=200.0), estimate, 2, 1) == 100.0
    assert search_seconds(demo, _usage(wall_s=800.0), estimate, 2, 1) == 0.0
    assert search_seconds(Limits(), _usage(), estimate, 2, 1) is None
    assert search_seconds(demo, _usage(), None, 2, 1) is None
    # a plan's configs are capped at what that time pays for: 250 s in one wave, 20 s fixed, 2 s a step
    budget = BudgetLeft(slots=1, step_s=2.0, job_fixed_s=20.0, search_s=250.0)
    assert budget.steps_for_search(2) == 52  # two waves of 125 s
    assert BudgetLeft(slots=2, step_s=2.0, job_fixed_s=20.0, search_s=250.0).steps_for_search(2) == 115
    assert BudgetLeft(step_s=2.0).steps_for_search(2) is None


def test_the_last_node_of_a_wall_clock_budget_continues_the_best_config(tmp_path: Path, tiny_task) -> None:
    from tests.fakes import FakeScheduler
    from trex.run.loop import SearchLoop
    from trex.run.options import RunOptions
    from trex.run.workspace import start_run

    task_file = Path(__file__).resolve().parents[2] / "examples" / "tasks" / "tiny.yaml"
    options = RunOptions(iterations=20, wall_clock_minutes=0.3)  # 18 s; the root's two 6-step jobs take 1.2 s
    store, tiny_task = start_run(tmp_path / "ws", tiny_task, task_file, options)
    scheduler = FakeScheduler(seconds=lambda job: 0.1 * job.train.max_steps if job.train else 0.0)
    summary = SearchLoop(store, tiny_task, options, scheduler=scheduler).run()
    tree = store.load_tree()
    assert summary.stopped_by == "wall_clock_minutes" and not store.events("job_cancelled")
    assert store.events("calibrated")[0]["data"]["one_run"] is None  # the root (1.2 s) fits an eighth of the time left
    last = store.events("selection")[-1]
    assert last["data"]["policy"] == "last-node-best" and len(tree) >= 3
    last_node = max(tree.nodes)
    assert tree.nodes[last_node].parent == last["node_id"]
    best_job = store.node_row(last["node_id"])["best_job"]
    jobs = [stored.job for stored in store.jobs_of(last_node)]
    assert len(jobs) == 1  # one slot: one config takes all the time left
    assert jobs[0].train.init_from_job == best_job and jobs[0].train.max_steps >= 4
    assert jobs[0].train.max_seconds is not None and jobs[0].train.max_seconds > 0  # the worker fits it to the time
    # it starts where one linear schedule over the parent's steps and its own would be: lr x more / (done + more)
    parent = store.job(best_job)
    done, more = parent.result.train.steps, jobs[0].train.max_steps // STEP_CEILING
    assert jobs[0].train.learning_rate == pytest.approx(parent.job.train.learning_rate * more / (done + more))
    store.close()


def test_a_schedule_gives_the_trainers_rate_and_a_continuation_starts_at_its_lineages_tail() -> None:
    from trex.agents.heuristic.moves import fill_budget
    from trex.plan import ConfigOutcome

    linear = TrainConfig(learning_rate=1e-3, warmup_ratio=0.1)
    assert [linear.rate_at(s, 100) for s in (0, 5, 10, 55, 100)] == pytest.approx([0.0, 0.5, 1.0, 0.5, 0.0])
    cosine = linear.model_copy(update={"lr_scheduler": "cosine", "warmup_ratio": 0.0})
    assert [cosine.rate_at(s, 100) for s in (0, 50, 100)] == pytest.approx([1.0, 0.5, 0.0])
    assert TrainConfig(lr_scheduler="constant").rate_at(90, 100) == 1.0
    # a one-run root of 300 steps, 8 more steps of time left: a gentle tail, not a restart at lr 1e-3
    root = ConfigOutcome(name="run", job_hash="h", status="ok", train=TrainConfig(learning_rate=1e-3), val_score=0.87)
    tail = fill_budget(root.model_copy(update={"steps": 300}), TimedRun(steps=16, seconds=20.0), 1)
    ((name, train),) = tail.configs
    assert name == "finish" and train.learning_rate == pytest.approx(1e-3 * 8 / 308)
    assert train.init_from_job == "h" and train.max_seconds == 20.0
    # a 32-step probe continued for about 240 steps starts near its own rate, a second slot at half that
    long = fill_budget(root.model_copy(update={"steps": 32}), TimedRun(steps=480, seconds=600.0), 2)
    assert [t.learning_rate for _, t in long.configs] == pytest.approx([1e-3 * 240 / 272, 1e-3 * 120 / 272])


def test_one_run_when_the_root_would_take_more_than_an_eighth_of_the_time_left() -> None:
    limits, cost = Limits(wall_clock_minutes=15), StepCost(fixed_s=40.0, step_s=6.0)
    # the demo task on a slow 2-core day, the base-model job done: 2 x (40 + 32 x 6) s = 464 s > 800 / 8
    run = one_run(limits, _usage(wall_s=100.0), cost, configs=2, default_steps=32, slots=1)
    assert run == TimedRun(steps=120 * 2, seconds=720.0)  # 800 x 0.95 - 40 = 720 s: 120 steps, up to twice that
    fast = StepCost(fixed_s=10.0, step_s=0.5)  # a GPU: the root is 2 x 26 s, at most 100 s: a search fits
    assert one_run(limits, _usage(wall_s=100.0), fast, configs=2, default_steps=32, slots=1) is None
    assert one_run(limits, _usage(wall_s=100.0), cost, configs=2, default_steps=32, slots=2) is not None  # 232 s
    hour = Limits(wall_clock_minutes=60, job_timeout_minutes=60)
    assert one_run(hour, _usage(wall_s=100.0), cost, configs=2, default_steps=32, slots=2) is None  # 232 <= 437 s
    # the demo on 2 fast cores: 2 x (20 + 32 x 2) s = 168 s, more than 865 / 8: one run, which trains for 95% of
    # the 865 s left less a fixed cost: the 15-minute job timeout allows 900 s less a fixed cost before training
    # and twice one after it (840 s), not 85% of it less a fixed cost (745 s)
    day = one_run(
        Limits(wall_clock_minutes=15, job_timeout_minutes=15),
        _usage(wall_s=35.0),
        StepCost(fixed_s=20.0, step_s=2.0),
        2,
        32,
        1,
    )
    assert day == TimedRun(steps=400 * 2, seconds=801.8)
    assert one_run(Limits(), _usage(), cost, configs=2, default_steps=32, slots=1) is None  # no wall clock
    assert one_run(limits, _usage(), None, configs=2, default_steps=32, slots=1) is None  # nothing measured
    assert one_run(limits, _usage(wall_s=880.0), cost, configs=2, default_steps=32, slots=1) is None  # no room
    capped = Limits(wall_clock_minutes=15, job_timeout_minutes=10)  # 600 s less 40 before training, 80 after
    assert one_run(capped, _usage(wall_s=100.0), cost, configs=2, default_steps=32, slots=1).seconds == 480.0
    slow = StepCost(fixed_s=100.0, step_s=6.0)  # twice the fixed cost is more than 15% of the timeout: the share holds
    assert one_run(capped, _usage(wall_s=100.0), slow, configs=2, default_steps=32, slots=1).seconds == 410.0


def test_a_budget_too_small_for_a_search_gets_one_run_that_fills_it(tmp_path: Path, tiny_task) -> None:
    from tests.fakes import FakeScheduler
    from trex.run.loop import SearchLoop
    from trex.run.options import RunOptions
    from trex.run.workspace import start_run

    task_file = Path(__file__).resolve().parents[2] / "examples" / "tasks" / "tiny.yaml"
    options = RunOptions(iterations=20, wall_clock_minutes=0.1)  # 6 s; the root's two 6-step jobs would take 3 s
    store, tiny_task = start_run(tmp_path / "ws", tiny_task, task_file, options)
    scheduler = FakeScheduler(seconds=lambda job: 0.25 * job.train.max_steps if job.train else 0.0)
    summary = SearchLoop(store, tiny_task, options, scheduler=scheduler).run()
    calibrated = store.events("calibrated")[0]["data"]
    assert calibrated["step_s"] == pytest.approx(0.25) and calibrated["one_run"] is not None
    baseline, *root = store.jobs_of(1)
    assert baseline.job.train is None and baseline.job.calibrate.max_steps == CALIBRATION_STEPS
    assert baseline.result.calibration.steps == CALIBRATION_STEPS and baseline.result.test is not None
    assert len(root) == 1  # one slot: one run
    train = root[0].job.train
    assert train.max_seconds == calibrated["one_run"]["seconds"] and 3.0 < train.max_seconds < 6.0 * 0.95
    assert train.learning_rate == tiny_task.training.learning_rate and train.max_steps > tiny_task.training.max_steps
    assert summary.best_node == 1 and summary.best_test is not None and not store.events("job_cancelled")
    assert len(scheduler.runs) == 2  # the base-model job ran once, before the root was planned, and the one run
    # the one run keeps what the base-model job measured, twice over, for its scoring after training (not 15% of
    # the job timeout); the base-model job itself, before anything was measured, kept the share
    # (the fake's jobs cost nothing but their training: the floor)
    assert [r.after_train_s for r in scheduler.requests[:2]] == [None, 10.0]
    assert after_train_s(StepCost(fixed_s=22.0, step_s=2.3)) == 44.0 and after_train_s(None) is None
    assert after_train_s(StepCost(fixed_s=0.1, step_s=0.25)) == 10.0  # a floor for what the fixed cost misses
    assert train_reserve(900, 44.0) == 44.0 and train_reserve(900, None) == pytest.approx(135.0)
    assert train_reserve(60, 44.0) == pytest.approx(9.0)  # never more than the unmeasured share
    runs = len(scheduler.runs)  # a resume plans nothing again: every job is reused by hash
    SearchLoop(store, tiny_task, options, scheduler=scheduler).run()
    assert len(scheduler.runs) == runs
    store.close()


def test_no_config_is_planned_longer_than_the_job_timeout_allows(tmp_path: Path, tiny_task) -> None:
    from tests.fakes import FakeScheduler
    from trex.run.loop import SearchLoop
    from trex.run.options import RunOptions
    from trex.run.workspace import start_run

    task_file = Path(__file__).resolve().parents[2] / "examples" / "tasks" / "tiny.yaml"
    limits = tiny_task.limits.model_copy(update={"job_timeout_minutes": 0.01})  # 0.6 s: 80% of it pays 4 steps
    task = tiny_task.model_copy(update={"limits": limits})
    store, task = start_run(tmp_path / "ws", task, task_file, RunOptions(iterations=4))
    scheduler = FakeScheduler(seconds=lambda job: 0.1 * job.train.max_steps if job.train else 0.0)
    SearchLoop(store, task, RunOptions(iterations=4), scheduler=scheduler).run()
    steps = {n: [s.job.train.max_steps for s in store.jobs_of(n) if s.job.train] for n in store.load_tree().nodes}
    assert steps[1] == [6, 6]  # nothing measured yet: the root is planned as asked
    assert len(steps) == 4 and all(0 < s <= 4 for n in (2, 3, 4) for s in steps[n]), steps
    store.close()


def test_train_deadline_is_the_limit_less_two_fixed_job_costs() -> None:
    limits, now = Limits(wall_clock_minutes=10, gpu_hours=1, grace_minutes=5), time.time()
    cost = StepCost(fixed_s=20.0, step_s=2.0)
    # 300 s of wall clock left, no grace: the job's own scoring and the best node's test scoring come off it
    assert train_deadline(limits, _usage(wall_s=300.0), 0, cost) == pytest.approx(now + 300 - 40, abs=2)
    assert train_deadline(limits, _usage(wall_s=0.0, gpu_hours=0.9), 4, cost) == pytest.approx(now + 90 - 40, abs=2)
    assert train_deadline(limits, _usage(wall_s=300.0), 0, None) == pytest.approx(now + 300, abs=2)  # none measured
    assert train_deadline(Limits(), _usage(), 0, cost) is None


def test_a_job_slower_than_planned_trains_less_instead_of_running_into_the_grace(tmp_path: Path, tiny_task) -> None:
    """A search job planned from a pace the machine no longer keeps (on the equal-budget benchmark a job planned at
    1.9 s a step trained at 4.6 s) ends its training by the run's limit and is recorded; it does not run into the
    grace period, which would be cancelled and leave the run nothing."""
    from tests.fakes import FakeScheduler
    from trex.run.loop import SearchLoop
    from trex.run.options import RunOptions
    from trex.run.workspace import start_run

    task = tiny_task.model_copy(update={"limits": tiny_task.limits.model_copy(update={"grace_minutes": 1.0})})
    task_file = Path(__file__).resolve().parents[2] / "examples" / "tasks" / "tiny.yaml"
    options = RunOptions(iterations=3, wall_clock_minutes=0.1)  # 6 s; the children's jobs would take 30 s
    scheduler = FakeScheduler()
    scheduler.seconds = lambda job: 30.0 if job.train is not None and len(scheduler.runs) >= 4 else 0.05
    store, task = start_run(tmp_path / "ws", task, task_file, options)
    started = time.time()
    summary = SearchLoop(store, task, options, scheduler=scheduler).run()
    assert time.time() - started < 6 + 2  # the limit, not the minute of grace after it
    assert not store.events("job_cancelled")
    slow = [r for r in scheduler.runs[4:] if r[3] - r[2] > 1.0]
    assert slow, "no job was cut short: the test does not test the fit"
    results = {s.hash: s.result for node in store.load_tree().nodes for s in store.jobs_of(node)}
    assert all(results[job_hash] is not None and results[job_hash].status == "ok" for job_hash, *_ in slow)
    assert summary.stopped_by == "wall_clock_minutes"
    store.close()


def test_the_demo_task_probes_then_runs_long_on_two_cores_within_its_minutes_and_searches_where_steps_are_cheap() -> (
    None
):
    """`make demo` must end within 1200 s whatever the machine's pace: the task file's wall-clock budget decides
    between a search, probes then one long run, and one run, from the measured step cost."""
    from trex.run.budget import long_run, probe_root
    from trex.task.spec import load_task

    task = load_task(Path(__file__).resolve().parents[2] / "examples" / "tasks" / "rotten_tomatoes.yaml")
    limits, steps = task.limits, task.training.max_steps
    assert not {"learning_rate", "lora_r", "max_steps", "epochs"} & task.training.model_fields_set  # as a user writes
    assert limits.wall_clock_minutes is not None and limits.wall_clock_minutes * 60 <= 1200 - 60  # process start
    after_base, budget = _usage(wall_s=50.0), limits.wall_clock_minutes * 60  # the base-model job, calibration
    shapes = {}
    for step_s in (1.5, 2.0, 3.0, 5.0, 10.0):  # CPU paces of a LoRA step of the demo's model, fast to very slow
        cost = StepCost(fixed_s=20.0, step_s=step_s)
        run = one_run(limits, after_base, cost, limits.configs_per_plan, steps, 1)
        assert run is not None  # the usual root takes more than an eighth of the time left
        assert 50.0 + run.seconds + 20.0 < budget and run.seconds > 0.8 * (budget - 50.0 - 20.0)
        probes = probe_root(limits, after_base, cost, 1)
        shapes[step_s] = probes.configs if probes else 0
        if probes is not None:  # the probes, then the long run: it ends with its scoring before the budget
            probes_s = probes.configs * (cost.fixed_s + probes.steps * step_s)
            long = long_run(limits, _usage(wall_s=50.0 + probes_s), cost)
            assert long is not None and 50.0 + probes_s + long.seconds + 2 * cost.fixed_s < budget
            assert long.seconds > 2 * probes_s  # most of the budget goes to the long run
    assert shapes == {1.5: 3, 2.0: 3, 3.0: 2, 5.0: 0, 10.0: 0}  # a very slow machine: one run
    gpu = StepCost(fixed_s=15.0, step_s=0.1)
    assert one_run(limits, after_base, gpu, limits.configs_per_plan, steps, 1) is None  # there, a search


def test_no_wall_clock_drops_the_task_s_budget(tiny_task) -> None:
    from pydantic import ValidationError

    from trex.run.options import RunOptions

    task = tiny_task.model_copy(update={"limits": tiny_task.limits.model_copy(update={"wall_clock_minutes": 18})})
    assert RunOptions().apply_limits(task).limits.wall_clock_minutes == 18
    assert RunOptions(wall_clock_minutes=5).apply_limits(task).limits.wall_clock_minutes == 5
    dropped = RunOptions(no_wall_clock=True).apply_limits(task).limits
    assert dropped.wall_clock_minutes is None and dropped.max_iterations == task.limits.max_iterations
    with pytest.raises(ValidationError, match="--no-wall-clock and --wall-clock-minutes"):
        RunOptions(no_wall_clock=True, wall_clock_minutes=5)


def test_step_cost_knows_the_rows_of_a_measured_step_and_a_bigger_batch_gets_fewer_steps(tmp_path, tiny_task) -> None:
    """A config of batch 16 costs about twice a batch-8 step: the timeout's cap counts its steps at that price (the
    heuristic search once planned a batch-16 surrogate config as if it were batch 8, and it had to be cut)."""
    import json

    from trex.agents.heuristic.researcher import HeuristicResearcher
    from trex.plan import BudgetLeft, ConfigSpec, PlanContext
    from trex.run.costs import step_cost
    from trex.store import Store

    store = Store(tmp_path / "ws")
    for job_hash, batch, accumulation, steps in (("a", 8, 1, 30), ("b", 4, 2, 10)):
        store.add_job(
            job_hash, json.dumps({"train": {"batch_size": batch, "gradient_accumulation_steps": accumulation}})
        )
        result = {"status": "ok", "seconds": 10.0 + 2.0 * steps, "train": {"seconds": 2.0 * steps, "steps": steps}}
        store.finish_job(job_hash, "ok", json.dumps(result), str(tmp_path))
    cost = step_cost(store)
    assert cost is not None and cost.step_s == pytest.approx(2.0) and cost.rows_per_step == pytest.approx(8.0)
    store.close()

    class TwoBatches(HeuristicResearcher):
        def _plan(self, context):
            plan = super()._plan(context)
            train = plan.configs[0].train.model_copy(update={"max_steps": 400})
            configs = [ConfigSpec(name=f"b{b}", train=train.model_copy(update={"batch_size": b})) for b in (8, 16, 4)]
            return plan.model_copy(update={"configs": configs})

    from tests.agents.heuristic.test_researcher import _record
    from tests.agents.llm.test_llm_context import _parent

    budget = BudgetLeft(step_s=5.0, job_fixed_s=5.0, job_timeout_s=900.0, step_rows=8.0)  # 143 batch-8 steps
    context = PlanContext(parent=_parent(tiny_task), grandparent=_record(tiny_task, 0, 0.6), seed=2, budget=budget)
    plan = TwoBatches(tiny_task).plan(context)
    assert [c.train.max_steps for c in plan.configs] == [143, 71, 143]  # a smaller batch keeps the plain cap
