"""What scoring the test split only where it is shown saves: seconds per job, before and after, on real jobs.

    .venv/bin/python benchmarks/on_demand_scoring.py [--task FILE] [--steps 8] [--repeats 2] [--json]

One job of the task's default config (the heuristic root's first config, ``--steps`` steps), run through
the worker with the LocalScheduler, one run after another: with ``score_test`` (before: every job scored
validation and test) and without (after: every job but the run's best scores validation only), then the
on-demand test scoring of the second run from the adapter it saved, in a worker of its own (what the
run's best node pays once each time a node becomes the best). Runs alternate (with, without, with, ...);
each side's figure is its fastest run. A run-level figure needs a run's counts: ``--jobs`` training jobs
and ``--best-changes`` on-demand scorings (the demo on 2 cores: 8 and 2-4; the base-model job always
scores both splits and is left out). Prints a table, or with ``--json`` one object ``{"task", "steps",
"with_test_s", "without_test_s", "saved_per_job_s", "on_demand_test_s", "jobs", "best_changes",
"saved_per_run_s"}``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from trex.run.executor import default_job
from trex.runtime.job import JobRequest, JobResult
from trex.runtime.local import LocalScheduler
from trex.task.spec import load_task

ROOT = Path(__file__).resolve().parents[1]


def timed(request: JobRequest) -> tuple[JobResult, float]:
    results: list[JobResult] = []
    start = time.perf_counter()
    LocalScheduler(timeout_s=3600, gpus=[]).run([request], lambda _, result: results.append(result))
    if results[0].status != "ok":
        raise RuntimeError(f"job failed: {results[0].error}")
    return results[0], time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", type=Path, default=ROOT / "examples" / "tasks" / "rotten_tomatoes.yaml")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=8, help="training jobs of a run (the demo: 8)")
    parser.add_argument("--best-changes", type=int, default=3, help="on-demand test scorings of a run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    task = load_task(args.task)
    task = task.model_copy(update={"training": task.training.model_copy(update={"max_steps": args.steps})})
    job = default_job(task, seed=0)
    with_test, without_test, on_demand = [], [], []
    with tempfile.TemporaryDirectory(prefix="trex-test-on-demand-") as tmp:
        for repeat in range(args.repeats):
            both, seconds = timed(JobRequest(job=job, workdir=f"{tmp}/with{repeat}", score_test=True))
            with_test.append(seconds)
            folder = f"{tmp}/without{repeat}"
            alone, seconds = timed(JobRequest(job=job, workdir=folder, score_test=False))
            without_test.append(seconds)
            later, seconds = timed(JobRequest(job=job, workdir=f"{folder}/test", init_from=folder, test_only=True))
            on_demand.append(seconds)
            if alone.test is not None or later.test.score.value != both.test.score.value:  # the same model, later
                raise RuntimeError("the on-demand test score differs from the in-job one")
    saved = min(with_test) - min(without_test)
    report = {
        "task": str(args.task.resolve().relative_to(ROOT) if args.task.resolve().is_relative_to(ROOT) else args.task),
        "steps": args.steps,
        "with_test_s": round(min(with_test), 1),
        "without_test_s": round(min(without_test), 1),
        "saved_per_job_s": round(saved, 1),
        "on_demand_test_s": round(min(on_demand), 1),
        "jobs": args.jobs,
        "best_changes": args.best_changes,
        "saved_per_run_s": round(args.jobs * saved - args.best_changes * min(on_demand), 1),
        "runs_s": {"with_test": with_test, "without_test": without_test, "on_demand": on_demand},
    }
    if args.json:
        print(json.dumps(report))
        return
    for key, value in report.items():
        if key != "runs_s":
            print(f"{key:18s} {value}")


if __name__ == "__main__":
    main()
