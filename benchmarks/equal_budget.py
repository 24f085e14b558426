"""Equal wall-clock budget on real training: one plain run, an Optuna TPE sweep of jobs, and trex.

    .venv/bin/python benchmarks/equal_budget.py --task FILE --minutes M [--seeds S] [--first-seed F]
        [--arms A,B] [--json]

For each seed, three arms get the same wall-clock budget of ``M`` minutes, one after another (never
two training processes at once):

- ``plain``: one LoRA run from the task's default training config, with as many steps as fit the
  budget. It is one trex Job through the worker (the worker is TRL's SFTTrainer on the recipe's rows;
  ``benchmarks/job_overhead.py`` shows it costs what a plain TRL script costs) with the standard data
  recipe and nothing searched. Its training time is the budget less one fixed job cost and the test
  scoring, both from a short timing run before the budget starts, as a user who knows the machine would
  choose it; the worker fits the steps and the learning-rate schedule to that time after its first steps
  (as trex's own one-run root and last node do), so the run does not stop short of the budget when the
  timing run's estimate was high.
- ``optuna``: Optuna TPE (multivariate, seeded) over learning rate, steps, LoRA rank and a
  label-balanced sample, each trial a real trex Job through the same worker, from the base model (no
  tree, no warm start), until the budget runs out: a trial starts only when its estimated time fits
  what is left, with its steps cut to fit when the proposal is longer.
- ``trex``: ``trex run TASK --wall-clock-minutes M --seed S`` with its other defaults, in its own
  workspace and process.

``--arms`` runs some arms only (default: all three), e.g. ``--arms trex`` to re-measure trex after a design
change; a comparison is only the benchmark's when every arm ran in the same invocation (the JSON's ``arms``
says which ran). Each arm picks its final model by validation only and reports that model's test score. The timing
run is not charged to any arm. Prints a row per arm and seed; ``--json`` prints ``{"budget_s", "task",
"arms": {"plain"|"optuna"|"trex": {"val": [...], "test": [...], "wall_s": [...], ...}}}``, one entry
per seed, with each score's 95% interval (``val_ci``, ``test_ci``: the evaluation's bootstrap) beside it.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from trex.plan import STEP_CEILING
from trex.run.budget import TIME_FIT_MARGIN
from trex.run.executor import default_job
from trex.run.options import summarize
from trex.runtime.job import Job, JobRequest, JobResult
from trex.runtime.local import LocalScheduler
from trex.store import Store
from trex.task.spec import TaskSpec, load_task
from trex.train.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
ARMS = ("plain", "optuna", "trex")
TIMING_STEPS = 8
MIN_STEPS = 4
RANKS = (4, 8, 16, 32)


@dataclass
class Timing:
    """Seconds a job costs: a fixed part (process, model, data, scoring) and a part per training step."""

    fixed_s: float
    step_s: float
    seen: list[tuple[float, float]] = field(default_factory=list)
    test_s: float = 0.0  # scoring the test split from a saved adapter, in a worker of its own

    def observe(self, result: JobResult, wall_s: float) -> None:
        if result.status != "ok" or result.train is None or result.train.steps < 1:
            return
        self.seen.append((wall_s - result.train.seconds, result.train.seconds / result.train.steps))
        self.fixed_s = statistics.fmean(f for f, _ in self.seen)
        self.step_s = statistics.fmean(s for _, s in self.seen)

    def steps_in(self, seconds: float) -> int:
        return max(0, math.floor((seconds - self.fixed_s) / self.step_s))


def run_job(
    task: TaskSpec, train: TrainConfig, balanced: bool, seed: int, workdir: Path, timeout_s: float, score_test: bool
) -> tuple[JobResult, float, Job]:
    """One trex Job (standard recipe, optionally label-balanced) through the worker; (result, wall seconds, job)."""
    job = default_job(task, seed, train, balanced)
    result, wall_s = run_request(JobRequest(job=job, workdir=str(workdir), score_test=score_test), timeout_s)
    return result, wall_s, job


def run_request(request: JobRequest, timeout_s: float) -> tuple[JobResult, float]:
    results: list[JobResult] = []
    start = time.perf_counter()
    LocalScheduler(timeout_s=max(30.0, timeout_s), gpus=[]).run([request], lambda _, result: results.append(result))
    return results[0], time.perf_counter() - start


def score_test(job: Job, workdir: Path, timeout_s: float) -> tuple[JobResult, float]:
    """The test score of a finished job, from the adapter it saved, in a worker of its own (as trex does it)."""
    request = JobRequest(job=job, workdir=str(workdir / "test"), init_from=str(workdir), test_only=True)
    return run_request(request, timeout_s)


def scores(result: JobResult) -> dict:
    val, test = result.validation, result.test
    return {
        "val": val.score.value if val else None,
        "test": test.score.value if test else None,
        "val_ci": [val.score.low, val.score.high] if val else None,
        "test_ci": [test.score.low, test.score.high] if test else None,
    }


def time_jobs(task: TaskSpec, seed: int, work: Path) -> Timing:
    """The short timing run: the default config for a few steps, then its test scoring from the saved adapter
    (not charged to any arm)."""
    train = task.training.model_copy(update={"max_steps": TIMING_STEPS})
    result, wall_s, job = run_job(task, train, False, seed, work / "timing", 3600, score_test=False)
    if result.status != "ok" or result.train is None:
        raise RuntimeError(f"timing job failed: {result.error}")
    timing = Timing(0.0, 0.0)
    timing.observe(result, wall_s)
    tested, timing.test_s = score_test(job, work / "timing", 3600)
    if tested.status != "ok":
        raise RuntimeError(f"timing job's test scoring failed: {tested.error}")
    return timing


def plain_arm(task: TaskSpec, seed: int, budget_s: float, timing: Timing, work: Path) -> dict:
    """One run of the task's default config for all the time the budget leaves after one fixed job cost and the
    test scoring, scoring test in the same process. Its steps and learning-rate schedule are fitted to those
    seconds by the worker (``TrainConfig.max_seconds``, what trex's own timed runs use), so an estimate that is
    off wastes no time; ``TIME_FIT_MARGIN`` as trex keeps. The timeout is a safety net: an overrun shows in
    wall_s."""
    seconds = budget_s * TIME_FIT_MARGIN - timing.fixed_s - timing.test_s
    # a ceiling well above the estimate: the timing run's pace is a cold first process's, slower than the run's
    # (2026-12-05: 2.55 s a step timed, 1.88 s in the run), and the worker's time fit only ever shortens a run
    steps = max(1, math.ceil(STEP_CEILING * max(1.0, seconds) / timing.step_s)) if timing.step_s > 0 else 1
    train = task.training.model_copy(update={"max_steps": steps, "max_seconds": max(1.0, seconds)})
    result, wall_s, _ = run_job(task, train, False, seed, work / "plain", budget_s * 2, score_test=True)
    if result.status != "ok":
        raise RuntimeError(f"plain run failed: {result.error}")
    trained = result.train.steps if result.train is not None else None
    return {**scores(result), "wall_s": wall_s, "steps": trained}


def optuna_arm(task: TaskSpec, seed: int, budget_s: float, timing: Timing, work: Path) -> dict:
    """TPE trials (validation only) while one more fits the budget less the final test scoring of the best."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    timing = Timing(timing.fixed_s, timing.step_s, list(timing.seen), timing.test_s)
    search_s = budget_s - timing.test_s
    max_steps = max(MIN_STEPS + 1, timing.steps_in(search_s))
    sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    start, trials, best = time.perf_counter(), [], None
    while (fit := timing.steps_in(search_s - (time.perf_counter() - start))) >= MIN_STEPS:
        trial = study.ask()
        lr = trial.suggest_float("learning_rate", 1e-4, 4e-3, log=True)
        steps = min(trial.suggest_int("max_steps", MIN_STEPS, max_steps, log=True), fit)
        rank = trial.suggest_categorical("lora_r", RANKS)
        balanced = trial.suggest_categorical("balanced", [False, True])
        update = {"learning_rate": lr, "max_steps": steps, "lora_r": rank, "lora_alpha": 2 * rank}
        left = search_s - (time.perf_counter() - start)
        workdir = work / f"trial{trial.number}"
        train = task.training.model_copy(update=update)
        result, wall_s, job = run_job(task, train, balanced, seed, workdir, max(60.0, left * 1.5), score_test=False)
        timing.observe(result, wall_s)
        row = {"trial": trial.number, **update, "balanced": balanced, "wall_s": wall_s, **scores(result)}
        trials.append(row)
        print(
            f"optuna trial {trial.number}: {update} balanced={balanced}: {result.status} val {row['val']} "
            f"{wall_s:.0f} s",
            file=sys.stderr,
            flush=True,
        )
        if result.status != "ok" or row["val"] is None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            continue
        study.tell(trial, row["val"])
        if best is None or row["val"] > best[0]["val"]:  # ties keep the earlier trial
            best = (row, job, workdir)
    if best is None:
        raise RuntimeError("no Optuna trial finished inside the budget")
    row, job, workdir = best
    tested, _ = score_test(job, workdir, budget_s)
    if tested.status != "ok" or tested.test is None:
        raise RuntimeError(f"test scoring of the best trial failed: {tested.error}")
    row.update(test=tested.test.score.value, test_ci=[tested.test.score.low, tested.test.score.high])
    chosen = {k: row[k] for k in ("val", "test", "val_ci", "test_ci")}
    return {**chosen, "wall_s": time.perf_counter() - start, "best_trial": row["trial"], "trials": trials}


def trex_arm(task_file: Path, seed: int, minutes: float, work: Path) -> dict:
    workspace = work / "trex"
    command = [sys.executable, "-m", "trex", "run", str(task_file), "--workspace", str(workspace)]
    command += ["--seed", str(seed), "--wall-clock-minutes", f"{minutes:g}"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall_s = time.perf_counter() - start
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise RuntimeError(f"trex run failed (exit {done.returncode}): {tail[0]}")
    store = Store.open_existing(workspace, read_only=True)
    try:
        summary = summarize(store)
        best_job = store.node_row(summary.best_node)["best_job"] if summary.best_node is not None else None
        stored = store.job(best_job) if best_job else None
    finally:
        store.close()
    row = scores(stored.result) if stored is not None and stored.result is not None else {}
    row.update(val=summary.best_val, test=summary.best_test)
    return {**row, "wall_s": wall_s, "nodes": summary.nodes, "best_node": summary.best_node}


def run_arm(name: str, task: TaskSpec, task_file: Path, seed: int, minutes: float, timing: Timing, work: Path) -> dict:
    if name == "plain":
        return plain_arm(task, seed, minutes * 60, timing, work)
    if name == "optuna":
        return optuna_arm(task, seed, minutes * 60, timing, work / "optuna")
    return trex_arm(task_file, seed, minutes, work)


def interval(values: list[float]) -> list[float] | None:
    """The 95% t-interval of a mean over seeds (None for one seed: see each score's own interval)."""
    if len(values) < 2:
        return None
    t = {2: 12.706, 3: 4.303, 4: 3.182, 5: 2.776}.get(len(values), 2.262)
    half = t * statistics.stdev(values) / math.sqrt(len(values))
    return [statistics.fmean(values) - half, statistics.fmean(values) + half]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", type=Path, default=ROOT / "examples" / "tasks" / "rotten_tomatoes.yaml")
    parser.add_argument("--minutes", type=float, required=True)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds run are first-seed .. first-seed + seeds - 1")
    parser.add_argument("--workspace", type=Path, default=None, help="keep every job here (default: a temp folder)")
    parser.add_argument("--arms", default=",".join(ARMS), help="comma-separated subset of plain,optuna,trex")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.seeds < 1 or args.minutes <= 0:
        parser.error("--seeds must be at least 1 and --minutes positive")
    chosen = [name for name in ARMS if name in args.arms.split(",")]
    if not chosen or set(args.arms.split(",")) - set(ARMS):
        parser.error(f"--arms takes a comma-separated subset of {','.join(ARMS)}")
    task_file = args.task.resolve()
    task = load_task(task_file)
    budget_s = args.minutes * 60
    arms: dict[str, dict[str, list]] = {name: {} for name in chosen}
    timings = []
    with tempfile.TemporaryDirectory(prefix="trex-equal-") as tmp:
        base = args.workspace or Path(tmp)
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            work = base / f"seed{seed}"
            timing = time_jobs(task, seed, work) if {"plain", "optuna"} & set(chosen) else Timing(0.0, 0.0)
            timings.append({"fixed_s": timing.fixed_s, "step_s": timing.step_s, "test_s": timing.test_s})
            for name in chosen:
                row = run_arm(name, task, task_file, seed, args.minutes, timing, work)
                print(
                    f"seed {seed} {name}: val {row['val']} test {row['test']} {row['wall_s']:.0f} s", file=sys.stderr
                )
                for key, value in row.items():
                    arms[name].setdefault(key, []).append(value)
                if not args.json:
                    print(
                        f"seed {seed} {name:6s} val {row['val']:.3f} test {row['test']:.3f} {row['wall_s']:.0f} s",
                        flush=True,
                    )
    for row in arms.values():
        row["val_mean_ci95"], row["test_mean_ci95"] = interval(row["val"]), interval(row["test"])
    task_name = str(task_file.relative_to(ROOT) if task_file.is_relative_to(ROOT) else task_file)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    report = {"budget_s": budget_s, "task": task_name, "seeds": seeds, "arms": arms, "timing": timings}
    if args.json:
        print(json.dumps(report))
        return
    for name, row in arms.items():
        print(f"{name:6s} mean val {statistics.fmean(row['val']):.3f} test {statistics.fmean(row['test']):.3f}")


if __name__ == "__main__":
    main()
