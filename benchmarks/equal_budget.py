"""Equal wall-clock budget on real training: a user's first try, Optuna TPE, Optuna ASHA, and trex.

    .venv/bin/python benchmarks/equal_budget.py --task FILE --minutes M [--seeds S] [--first-seed F]
        [--arms plain,optuna,asha,trex] [--out DIR] [--json]

For each seed, four arms get the same wall-clock budget of ``M`` minutes, one after another (never two
training processes at once). Every trained model is a real trex Job through the worker (TRL's SFTTrainer on
the standard data recipe's rows; ``benchmarks/job_overhead.py`` shows it costs what a plain TRL script costs).

- ``plain``: one run of ``PLAIN``, a config written here and nowhere else (LoRA r 16, alpha 32, learning rate
  2e-4, batch 8, the task's max length): a user's first try, untuned on purpose; it does not follow trex's
  defaults or the task's ``training:`` section. Its steps and learning-rate schedule are fitted by the worker to
  the budget less one fixed job cost and the test scoring (both from the timing run).
- ``optuna``: Optuna TPE (multivariate, seeded) over ``SPACE`` (learning rate 1e-5 to 3e-3, log; LoRA rank 4 to
  64, alpha twice the rank; a label-balanced sample or not) and the steps, from ``MIN_STEPS`` to as many as fit
  the time left (log). Each trial trains from the base model; a trial starts only when its estimated time fits
  what is left, with its steps cut to fit.
- ``asha``: Optuna's ``SuccessiveHalvingPruner`` (asynchronous successive halving, reduction factor 3) over the
  same space, random sampling as in the ASHA paper. A trial trains rung by rung: ``r0``, ``3 r0``, ``9 r0``
  steps in all, each rung one Job that continues the previous rung's adapter (``init_from_job``, a fresh linear
  schedule over the rung's new steps and fresh rows), is scored on validation and reports that score at its
  cumulative steps; the pruner stops the trials outside the top third of their rung. ``9 r0`` is the steps a
  third of the budget pays for.
- ``trex``: ``trex run TASK --wall-clock-minutes M --seed S`` with its defaults, in its own workspace.

Each arm picks its model by validation only (over every trained model it has: trials, rungs, trex's nodes) and
reports that model's test score, scored once at the end. The timing run (``PLAIN`` for ``TIMING_STEPS`` steps,
then its test scoring) is not charged to any arm. An arm that ends past 115% of the budget is flagged on stderr.

**Resumable.** Every (task, budget, seed, arm) result is written to ``DIR/TASK/Mmin/seedS/ARM.json`` (default
``DIR``: ``runs/equal_budget``) the moment the arm finishes, and the timing run to ``timing.json`` beside it. A
rerun of the same command loads the finished results and runs only the missing arms; an arm killed midway
starts over (its folder is cleared first: a half-spent budget cannot be continued fairly).

Prints a row per arm and seed; ``--json`` prints ``{"budget_s", "task", "seeds", "arms": {arm: {"val": [...],
"test": [...], "wall_s": [...], "val_ci": ..., "test_ci": ...}}, "resumed": [[seed, arm], ...]}``, one entry
per seed, each score's 95% interval (the evaluation's bootstrap) beside it and the mean's t-interval over seeds.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from trex.agents.recipes import base_recipe, rows_needed
from trex.run.executor import recipe_job
from trex.run.options import summarize
from trex.runtime.job import Job, JobRequest, JobResult
from trex.runtime.local import LocalScheduler
from trex.store import Store
from trex.task.spec import TaskSpec, load_task
from trex.train.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
ARMS = ("plain", "optuna", "asha", "trex")
TIMING_STEPS = 8
MIN_STEPS = 4
FIT_MARGIN = 0.95  # the plain run plans to this share of its seconds: only the fixed costs' error needs a margin
STEP_CEILING = 2  # the plain run's steps may stretch to twice the timed pace's estimate; the time fit shortens them
OVERRUN = 1.15  # an arm must end within 15% of its budget
ETA = 3  # ASHA's reduction factor
ASHA_TOP_SHARE = 1 / 3  # the top rung's steps: what this share of the budget pays for

# A user's first try, untuned on purpose; the task gives only its max length.
PLAIN = {
    "method": "lora_sft",
    "learning_rate": 2e-4,
    "batch_size": 8,
    "gradient_accumulation_steps": 1,
    "lora_r": 16,
    "lora_alpha": 32,
    "lora_dropout": 0.0,
    "lora_targets": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "lr_scheduler": "linear",
    "warmup_ratio": 0.0,
    "weight_decay": 0.0,
}
# The search space of the optuna and asha arms (steps: from MIN_STEPS to as many as fit).
SPACE = {"learning_rate": (1e-5, 3e-3), "lora_r": (4, 8, 16, 32, 64), "balanced": (False, True)}


def plain_config(task: TaskSpec, **update: object) -> TrainConfig:
    return TrainConfig(**{**PLAIN, "max_length": task.training.max_length, **update})


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
        return max(0, math.floor((seconds - self.fixed_s) / self.step_s)) if self.step_s > 0 else 0

    def copy(self) -> Timing:
        return Timing(self.fixed_s, self.step_s, list(self.seen), self.test_s)


def make_job(task: TaskSpec, train: TrainConfig, balanced: bool, seed: int, data_seed: int | None = None) -> Job:
    """One job on the standard recipe: a seeded sample of the rows ``train`` needs (label-balanced when asked)."""
    recipe = base_recipe(task, rows_needed(train), seed=seed if data_seed is None else data_seed, stratify=balanced)
    return recipe_job(task, recipe, train, seed)


def run_request(request: JobRequest, timeout_s: float) -> tuple[JobResult, float]:
    results: list[JobResult] = []
    start = time.perf_counter()
    LocalScheduler(timeout_s=max(30.0, timeout_s), gpus=[]).run([request], lambda _, result: results.append(result))
    return results[0], time.perf_counter() - start


def run_job(
    job: Job, workdir: Path, timeout_s: float, score_test: bool = False, init_from: Path | None = None
) -> tuple[JobResult, float]:
    request = JobRequest(job=job, workdir=str(workdir), score_test=score_test, init_from=init_from and str(init_from))
    return run_request(request, timeout_s)


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


def with_test(row: dict, job: Job, workdir: Path, timeout_s: float) -> dict:
    """``row`` with the test score of the job that ``row`` picked by validation."""
    tested, _ = score_test(job, workdir, timeout_s)
    if tested.status != "ok" or tested.test is None:
        raise RuntimeError(f"test scoring of the picked model failed: {tested.error}")
    return {**row, "test": tested.test.score.value, "test_ci": [tested.test.score.low, tested.test.score.high]}


def time_jobs(task: TaskSpec, seed: int, work: Path) -> Timing:
    """The short timing run: ``PLAIN`` for a few steps, then its test scoring from the saved adapter (not charged
    to any arm)."""
    job = make_job(task, plain_config(task, max_steps=TIMING_STEPS), False, seed)
    result, wall_s = run_job(job, work, 3600)
    if result.status != "ok" or result.train is None:
        raise RuntimeError(f"timing job failed: {result.error}")
    timing = Timing(0.0, 0.0)
    timing.observe(result, wall_s)
    tested, timing.test_s = score_test(job, work, 3600)
    if tested.status != "ok":
        raise RuntimeError(f"timing job's test scoring failed: {tested.error}")
    return timing


def plain_arm(task: TaskSpec, seed: int, budget_s: float, timing: Timing, work: Path) -> dict:
    """One run of ``PLAIN`` for the time the budget leaves after one fixed job cost and the test scoring, test
    scored in the same process. The worker fits steps and schedule to those seconds (``TrainConfig.max_seconds``),
    so a timing estimate that is off wastes no time; the timeout is a safety net (an overrun shows in wall_s)."""
    seconds = max(1.0, budget_s * FIT_MARGIN - timing.fixed_s - timing.test_s)
    steps = max(1, math.ceil(STEP_CEILING * seconds / timing.step_s)) if timing.step_s > 0 else 1
    job = make_job(task, plain_config(task, max_steps=steps, max_seconds=seconds), False, seed)
    result, wall_s = run_job(job, work, budget_s * 2, score_test=True)
    if result.status != "ok":
        raise RuntimeError(f"plain run failed: {result.error}")
    return {**scores(result), "wall_s": wall_s, "steps": result.train.steps if result.train else None}


def suggest(trial) -> dict:  # noqa: ANN001 (optuna.Trial)
    lr = trial.suggest_float("learning_rate", *SPACE["learning_rate"], log=True)
    rank = trial.suggest_categorical("lora_r", SPACE["lora_r"])
    return {"learning_rate": lr, "lora_r": rank, "balanced": trial.suggest_categorical("balanced", SPACE["balanced"])}


def log(arm: str, row: dict, status: str) -> None:
    shown = {k: row[k] for k in ("trial", "learning_rate", "lora_r", "balanced", "steps") if k in row}
    print(f"{arm} {shown}: {status} val {row.get('val')} {row['wall_s']:.0f} s", file=sys.stderr, flush=True)


def optuna_arm(task: TaskSpec, seed: int, budget_s: float, timing: Timing, work: Path) -> dict:
    """TPE trials (validation only) while one more fits the budget less the final test scoring of the best."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    timing, search_s = timing.copy(), budget_s - timing.test_s
    max_steps = max(MIN_STEPS + 1, timing.steps_in(search_s))
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed, multivariate=True))
    start, trials, best = time.perf_counter(), [], None
    while (fit := timing.steps_in(search_s - (time.perf_counter() - start))) >= MIN_STEPS:
        trial = study.ask()
        params = suggest(trial)
        steps = min(trial.suggest_int("max_steps", MIN_STEPS, max_steps, log=True), fit)
        rank = params["lora_r"]
        train = plain_config(task, learning_rate=params["learning_rate"], lora_r=rank, lora_alpha=2 * rank)
        job = make_job(task, train.model_copy(update={"max_steps": steps}), params["balanced"], seed)
        workdir, left = work / f"trial{trial.number}", search_s - (time.perf_counter() - start)
        result, wall_s = run_job(job, workdir, max(60.0, left * 1.5))
        timing.observe(result, wall_s)
        row = {"trial": trial.number, **params, "steps": steps, "wall_s": wall_s, **scores(result)}
        trials.append(row)
        log("optuna", row, result.status)
        if result.status != "ok" or row["val"] is None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            continue
        study.tell(trial, row["val"])
        if best is None or row["val"] > best[0]["val"]:  # ties keep the earlier trial
            best = (row, job, workdir)
    if best is None:
        raise RuntimeError("no Optuna trial finished inside the budget")
    row = with_test(best[0], best[1], best[2], budget_s)
    chosen = {k: row[k] for k in ("val", "test", "val_ci", "test_ci")}
    return {**chosen, "wall_s": time.perf_counter() - start, "best_trial": row["trial"], "trials": trials}


def asha_arm(task: TaskSpec, seed: int, budget_s: float, timing: Timing, work: Path) -> dict:
    """Random trials under Optuna's successive-halving pruner; each rung continues the previous rung's adapter
    and reports its validation score at its cumulative steps. Picks the best rung model of any trial."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    timing, search_s = timing.copy(), budget_s - timing.test_s
    r0 = max(MIN_STEPS, timing.steps_in(search_s * ASHA_TOP_SHARE) // ETA**2)
    rungs = [r0 * ETA**k for k in range(3)]
    pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=r0, reduction_factor=ETA)
    sampler = optuna.samplers.RandomSampler(seed=seed)
    study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
    start, rows, best = time.perf_counter(), [], None

    def left() -> float:
        return search_s - (time.perf_counter() - start)

    while timing.steps_in(left()) >= r0:
        trial = study.ask()
        params = suggest(trial)
        rank, done, parent, value = params["lora_r"], 0, None, None
        base = plain_config(task, learning_rate=params["learning_rate"], lora_r=rank, lora_alpha=2 * rank)
        for rung, total in enumerate(rungs):
            if timing.steps_in(left()) < total - done:
                break  # this rung does not fit: the trial ends at its last rung
            update = {"max_steps": total - done, "init_from_job": parent[0].content_hash() if parent else None}
            data_seed = seed * 1000 + trial.number * 10 + rung  # fresh rows for every rung
            job = make_job(task, base.model_copy(update=update), params["balanced"], seed, data_seed)
            workdir = work / f"trial{trial.number}" / f"rung{rung}"
            result, wall_s = run_job(job, workdir, max(60.0, left() * 1.5), init_from=parent and parent[1])
            timing.observe(result, wall_s)
            row = {"trial": trial.number, "rung": rung, **params, "steps": total, "wall_s": wall_s, **scores(result)}
            rows.append(row)
            log("asha", row, result.status)
            if result.status != "ok" or row["val"] is None:
                break
            done, parent, value = total, (job, workdir), row["val"]
            if best is None or value > best[0]["val"]:
                best = (row, job, workdir)
            trial.report(value, step=total)
            if trial.should_prune():
                break
        if value is None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        elif done < rungs[-1]:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, value)
    if best is None:
        raise RuntimeError("no ASHA rung finished inside the budget")
    row = with_test(best[0], best[1], best[2], budget_s)
    chosen = {k: row[k] for k in ("val", "test", "val_ci", "test_ci")}
    picked = {"best_trial": row["trial"], "best_rung": row["rung"]}
    return {**chosen, "wall_s": time.perf_counter() - start, **picked, "rungs": rungs, "trials": rows}


def trex_arm(task_file: Path, seed: int, minutes: float, work: Path) -> dict:
    command = [sys.executable, "-m", "trex", "run", str(task_file), "--workspace", str(work)]
    command += ["--seed", str(seed), "--wall-clock-minutes", f"{minutes:g}"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall_s = time.perf_counter() - start
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise RuntimeError(f"trex run failed (exit {done.returncode}): {tail[0]}")
    store = Store.open_existing(work, read_only=True)
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
    arms = {"plain": plain_arm, "optuna": optuna_arm, "asha": asha_arm}
    if name == "trex":
        return trex_arm(task_file, seed, minutes, work)
    return arms[name](task, seed, minutes * 60, timing, work)


def cached_timing(task: TaskSpec, seed: int, folder: Path) -> Timing:
    """The timing run of this seed, measured once and kept beside the arms' results."""
    path = folder / "timing.json"
    if path.exists():
        saved = json.loads(path.read_text())
        return Timing(saved["fixed_s"], saved["step_s"], [tuple(s) for s in saved["seen"]], saved["test_s"])
    shutil.rmtree(folder / "timing", ignore_errors=True)
    timing = time_jobs(task, seed, folder / "timing")
    write_json(path, asdict(timing))
    return timing


def write_json(path: Path, data: dict) -> None:
    """Atomically: a benchmark killed while writing leaves the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)


def interval(values: list[float]) -> list[float] | None:
    """The 95% t-interval of a mean over seeds (None for one seed: see each score's own interval)."""
    if len(values) < 2:
        return None
    t = {2: 12.706, 3: 4.303, 4: 3.182, 5: 2.776}.get(len(values), 2.262)
    half = t * statistics.stdev(values) / math.sqrt(len(values))
    return [statistics.fmean(values) - half, statistics.fmean(values) + half]


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", type=Path, default=ROOT / "examples" / "tasks" / "rotten_tomatoes.yaml")
    parser.add_argument("--minutes", type=float, required=True)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds run are first-seed .. first-seed + seeds - 1")
    parser.add_argument(
        "--out", "--workspace", dest="out", type=Path, default=ROOT / "runs" / "equal_budget",
        help="results and every job, kept to resume (default: runs/equal_budget)",
    )  # fmt: skip
    parser.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated subset of {','.join(ARMS)}")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.seeds < 1 or args.minutes <= 0:
        parser.error("--seeds must be at least 1 and --minutes positive")
    if not set(args.arms.split(",")) <= set(ARMS):
        parser.error(f"--arms takes a comma-separated subset of {','.join(ARMS)}")
    return args


def main() -> None:
    args = parse()
    chosen = [name for name in ARMS if name in args.arms.split(",")]
    task_file = args.task.resolve()
    task = load_task(task_file)
    budget_s = args.minutes * 60
    task_name = str(task_file.relative_to(ROOT) if task_file.is_relative_to(ROOT) else task_file)
    arms: dict[str, dict[str, list]] = {name: {} for name in chosen}
    seeds, resumed, timings = list(range(args.first_seed, args.first_seed + args.seeds)), [], {}
    for seed in seeds:
        folder = args.out / task.name / f"{args.minutes:g}min" / f"seed{seed}"
        for name in chosen:
            path = folder / f"{name}.json"
            if path.exists():
                row = json.loads(path.read_text())
                resumed.append([seed, name])
            else:
                if name != "trex" and seed not in timings:
                    timings[seed] = cached_timing(task, seed, folder)
                shutil.rmtree(folder / name, ignore_errors=True)  # a killed attempt's jobs: start over
                row = run_arm(
                    name, task, task_file, seed, args.minutes, timings.get(seed, Timing(0, 0)), folder / name
                )
                row.update(task=task_name, budget_s=budget_s, seed=seed)
                write_json(path, row)
            if row["wall_s"] > OVERRUN * budget_s:
                print(f"seed {seed} {name}: {row['wall_s']:.0f} s, past 115% of the budget", file=sys.stderr)
            print(f"seed {seed} {name}: val {row['val']} test {row['test']} {row['wall_s']:.0f} s", file=sys.stderr)
            for key, value in row.items():
                if key not in ("task", "budget_s", "seed"):
                    arms[name].setdefault(key, []).append(value)
            if not args.json:
                print(f"seed {seed} {name:6s} val {row['val']:.3f} test {row['test']:.3f} {row['wall_s']:.0f} s")
    for row in arms.values():
        row["val_mean_ci95"], row["test_mean_ci95"] = interval(row["val"]), interval(row["test"])
    report = {"budget_s": budget_s, "task": task_name, "seeds": seeds, "arms": arms, "resumed": resumed}
    if args.json:
        print(json.dumps(report))
        return
    for name, row in arms.items():
        print(f"{name:6s} mean val {statistics.fmean(row['val']):.3f} test {statistics.fmean(row['test']):.3f}")


if __name__ == "__main__":
    main()
