"""A run fitted into ``max_seconds``: the total steps follow the timed pace and the schedule is planned for them."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_the_time_fit_sets_the_total_and_replans_the_schedule(tmp_path: Path) -> None:
    import torch
    from transformers import TrainerControl, TrainerState, TrainingArguments, get_scheduler

    from trex.train.common import TimeFitCallback

    now = [0.0]
    fit = TimeFitCallback(seconds=20.0, clock=lambda: now[0])
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([weight], lr=0.1)
    scheduler = get_scheduler("linear", optimizer, num_warmup_steps=0, num_training_steps=100)
    args = TrainingArguments(output_dir=str(tmp_path), lr_scheduler_type="linear", use_cpu=True, report_to=[])
    state, control = TrainerState(max_steps=100), TrainerControl()
    fit.on_train_begin(args, state, control)
    for step in range(1, 30):
        optimizer.step()
        scheduler.step()
        now[0] += 5.0 if step == 1 else 1.0  # the first step pays one-off costs, then 1 s a step
        state.global_step = step
        fit.on_step_end(args, state, control, optimizer=optimizer, lr_scheduler=scheduler)
        if step == 4:  # 8 s spent, 12 s left at 1 s a step: 16 steps in all, the linear decay planned for 16
            assert state.max_steps == fit.total == 16
            assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 12 / 16)
            assert scheduler.get_last_lr()[0] == pytest.approx(0.1 * 12 / 16)
        if control.should_training_stop:
            break
    assert state.global_step == 16 and optimizer.param_groups[0]["lr"] == pytest.approx(0.0)


def _drive(tmp_path: Path, seconds: float, max_steps: int, steps: int, pace) -> tuple:  # noqa: ANN001
    """Run a TimeFitCallback on a fake clock for up to ``steps`` steps, step n taking ``pace(n)`` seconds, until it
    stops training: (the callback, the trainer state, the control, the clock's seconds)."""
    from transformers import TrainerControl, TrainerState, TrainingArguments

    from trex.train.common import TimeFitCallback

    now = [0.0]
    fit = TimeFitCallback(seconds=seconds, clock=lambda: now[0])
    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to=[])
    state, control = TrainerState(max_steps=max_steps), TrainerControl()
    fit.on_train_begin(args, state, control)
    for step in range(1, steps + 1):
        now[0] += pace(step)
        state.global_step = step
        fit.on_step_end(args, state, control)
        if control.should_training_stop:
            break
    return fit, state, control, now[0]


def test_the_time_fit_catches_a_pace_that_slows_later(tmp_path: Path) -> None:
    slows = lambda step: 5.0 if step == 1 else (1.0 if step <= 8 else 2.0)  # noqa: E731 (slower after step 8)
    _, state, _, spent = _drive(tmp_path, seconds=20.0, max_steps=100, steps=29, pace=slows)
    # planned 16 at step 4; at step 12 (20 s spent) the time is up: it stops there instead of at 16 (28 s)
    assert state.global_step == state.max_steps == 12 and spent == 20.0


def test_the_time_fit_never_trains_past_max_steps(tmp_path: Path) -> None:
    fit, state, control, _ = _drive(tmp_path, seconds=1000.0, max_steps=10, steps=4, pace=lambda step: 1.0)
    assert state.max_steps == fit.total == 10 and not control.should_training_stop


def test_a_job_deadline_and_max_seconds_fit_the_run_to_the_sooner(tmp_path: Path) -> None:
    import time

    from trex.train.common import TimeFitCallback, callbacks
    from trex.train.config import TrainConfig

    def fit_seconds(cfg: TrainConfig, until: float | None) -> float | None:
        fits = [c for c in callbacks(cfg, tmp_path, until) if isinstance(c, TimeFitCallback)]
        return fits[0].seconds if fits else None

    steps, now = TrainConfig(max_steps=32), time.time()
    assert fit_seconds(steps, None) is None  # nothing to fit: the trainer runs as planned
    assert fit_seconds(steps, now + 600) == pytest.approx(600, abs=5)  # the job's deadline for its training
    assert fit_seconds(steps.model_copy(update={"max_seconds": 40.0}), now + 600) == 40.0
    assert fit_seconds(steps.model_copy(update={"max_seconds": 900.0}), now + 600) == pytest.approx(600, abs=5)
    assert fit_seconds(steps, now - 10) == 0.0  # already past: it stops as soon as the pace is timed


@pytest.mark.slow
def test_a_job_whose_training_would_overrun_its_deadline_trains_less_and_still_scores(
    tiny_task, tmp_path: Path
) -> None:
    """A machine slower than the plan assumed: the worker fits the steps to the job's training deadline (set by
    ``run_worker`` from the timeout) instead of running into the timeout."""
    import time

    from trex.agents.heuristic.researcher import base_recipe
    from trex.runtime.job import Job, JobRequest
    from trex.runtime.worker import execute

    train = tiny_task.training.model_copy(update={"max_steps": 100_000})
    job = Job(base_model=tiny_task.base_model, recipe=base_recipe(tiny_task, 16, seed=0), train=train,
              eval=tiny_task.eval, max_train_samples=12)  # fmt: skip
    started = time.time()
    result = execute(JobRequest(job=job, workdir=str(tmp_path / "j"), train_until=started + 4.0))
    assert result.status == "ok" and result.val_score is not None
    assert 4 <= result.train.steps < 100_000 and time.time() - started < 60
    assert (tmp_path / "j" / "adapter" / "adapter_config.json").exists()


@pytest.mark.slow
def test_a_real_sft_run_stops_when_its_seconds_are_spent(tiny_model, tmp_path: Path) -> None:
    from datasets import Dataset

    from trex.train.config import TrainConfig
    from trex.train.model import load_model
    from trex.train.sft import train_sft

    _, tokenizer = tiny_model
    model, _ = load_model("embedded:tiny-qwen2", device="cpu")
    rows = {"prompt": [f"Review: film {i}\nAnswer:" for i in range(64)], "completion": [" fresh", " rotten"] * 32}
    cfg = TrainConfig(max_steps=5000, max_seconds=3.0, batch_size=4, max_length=32, learning_rate=1e-3)
    _, log = train_sft(model, tokenizer, Dataset.from_dict(rows), cfg, tmp_path, seed=0)
    assert 4 <= log.steps < 5000 and log.seconds < 30.0
    assert (tmp_path / "adapter").is_dir()


@pytest.mark.slow
def test_the_base_model_job_of_a_wall_clock_run_times_the_default_config(tiny_task, tmp_path: Path) -> None:
    from trex.run.calibration import CALIBRATION_STEPS, calibration_plan
    from trex.run.executor import baseline_job
    from trex.runtime.job import JobRequest, JobResult
    from trex.runtime.local import LocalScheduler

    task = tiny_task.model_copy(update={"limits": tiny_task.limits.model_copy(update={"wall_clock_minutes": 5})})
    job = baseline_job(task, 0, calibration_plan(task, 0))
    plain = baseline_job(tiny_task, 0, calibration_plan(tiny_task, 0))  # no wall clock: the usual baseline
    assert job.calibrate is not None and plain.calibrate is None and "calibrate" not in plain.model_dump_json()
    results: list[JobResult] = []
    request = JobRequest(job=job, workdir=str(tmp_path / "base"), score_test=True)
    LocalScheduler(timeout_s=600, gpus=[]).run([request], lambda _, result: results.append(result))
    (result,) = results
    assert result.status == "ok", result.error
    assert result.validation is not None and result.test is not None and result.train is None
    assert result.calibration.steps == CALIBRATION_STEPS and 0 < result.calibration.seconds < result.seconds
    assert not (tmp_path / "base" / "calibration").exists()  # what it trained is discarded
