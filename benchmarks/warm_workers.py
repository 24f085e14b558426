"""What a warm job process saves: wall seconds per job, cold worker against a fork server's warm child.

    .venv/bin/python benchmarks/warm_workers.py [--task FILE] [--steps 4] [--jobs 4] [--json]

The same job (the task's heuristic root config, ``--steps`` steps, validation scored) runs through
``run_worker`` ``--jobs`` times cold (``python -m trex.runtime.worker``: imports torch, transformers, TRL,
PEFT and datasets, then works) and ``--jobs`` times warm (a child forked from ``trex.runtime.warm``'s server,
which imported them once), alternating cold, warm, cold, ... The first warm job also waits for the server's
own start (its imports, once per run's process); it is reported apart and left out of the warm median. Each
job's ``seconds`` (what the worker itself measured, from its start to result.json) is reported too: the
difference between wall and work is the process's start. The warm and cold results must be the same
(validation score and training losses), or the script fails. Prints a table, or with ``--json`` one object
``{"task", "steps", "jobs", "cold": {"wall_s", "job_s"}, "warm": {"wall_s", "job_s", "first_wall_s"},
"saved_per_job_s", "runs_s"}`` (medians; ``runs_s`` has every wall time).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from trex.run.executor import default_job
from trex.runtime.base import run_worker
from trex.runtime.job import JobRequest, JobResult
from trex.task.spec import load_task

ROOT = Path(__file__).resolve().parents[1]


def timed(request: JobRequest, warm: bool) -> tuple[JobResult, float]:
    start = time.perf_counter()
    result = run_worker(request, None, 3600, warm=warm)
    if result.status != "ok":
        raise RuntimeError(f"job failed: {result.error}")
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", type=Path, default=ROOT / "examples" / "tasks" / "tiny.yaml")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    task = load_task(args.task)
    task = task.model_copy(update={"training": task.training.model_copy(update={"max_steps": args.steps})})
    job = default_job(task, seed=0)
    runs: dict[str, list[float]] = {"cold": [], "warm": []}
    work: dict[str, list[float]] = {"cold": [], "warm": []}
    reference: JobResult | None = None
    with tempfile.TemporaryDirectory(prefix="trex-warm-") as tmp:
        for i in range(args.jobs):
            for side in ("cold", "warm"):
                result, seconds = timed(JobRequest(job=job, workdir=f"{tmp}/{side}{i}"), warm=side == "warm")
                runs[side].append(seconds)
                work[side].append(result.seconds)
                reference = reference or result
                same = result.val_score == reference.val_score and result.train.losses == reference.train.losses
                if not same:
                    raise RuntimeError(f"the {side} job {i} differs from the first job: {result.val_score}")
    cold_wall = statistics.median(runs["cold"])
    warm_wall = statistics.median(runs["warm"][1:] or runs["warm"])
    report = {
        "task": str(args.task.resolve().relative_to(ROOT) if args.task.resolve().is_relative_to(ROOT) else args.task),
        "steps": args.steps,
        "jobs": args.jobs,
        "cold": {"wall_s": round(cold_wall, 1), "job_s": round(statistics.median(work["cold"]), 1)},
        "warm": {
            "wall_s": round(warm_wall, 1),
            "job_s": round(statistics.median(work["warm"][1:] or work["warm"]), 1),
            "first_wall_s": round(runs["warm"][0], 1),
        },
        "saved_per_job_s": round(cold_wall - warm_wall, 1),
        "runs_s": {side: [round(s, 1) for s in seconds] for side, seconds in runs.items()},
    }
    if args.json:
        print(json.dumps(report))
        return
    for key, value in report.items():
        print(f"{key:16s} {value}")


if __name__ == "__main__":
    main()
