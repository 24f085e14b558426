"""The last node of a wall-clock run, rerun at the rate its continuation starts from now: what the fix changed.

    .venv/bin/python benchmarks/final_tail.py WORKSPACE [WORKSPACE ...] [--json]

For each trex workspace (a finished ``trex run`` under ``--wall-clock-minutes``), it takes the last node's
``finish`` job (the continuation of the run's best config for the time left, ``moves.fill_budget``)
and runs it again with one change: the learning rate it starts from is ``moves.tail_rate`` (where one schedule
over the parent's trained steps and the continuation's would be) instead of the parent's own rate. Everything
else is the stored job: the parent's adapter, the recipe and its rows, the seconds the worker fits the steps
to. The new job scores validation and test; the stored one's test is scored from its saved adapter when the
run did not score it (in a folder of its own: the workspace is opened read-only). It prints, per workspace,
the parent (the run's model before its last node), the stored continuation and the new one; a run keeps the
better of its nodes by validation.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from trex.agents.heuristic.moves import tail_rate
from trex.plan import ConfigOutcome
from trex.runtime.job import JobRequest, JobResult
from trex.runtime.local import LocalScheduler
from trex.store import Store


def _scores(result: JobResult | None, lr: float | None = None) -> dict:
    val, test = (result.validation, result.test) if result else (None, None)
    return {
        "lr": lr,
        "steps": result.train.steps if result and result.train else None,
        "val": val.score.value if val else None,
        "test": test.score.value if test else None,
    }


def _run(request: JobRequest) -> JobResult:
    results: list[JobResult] = []
    LocalScheduler(timeout_s=3600, gpus=[]).run([request], lambda _, result: results.append(result))
    return results[0]


def rerun(workspace: Path, work: Path) -> dict:
    store = Store.open_existing(workspace, read_only=True)
    last = max(store.load_tree().nodes)
    stored = next(s for s in store.jobs_of(last) if s.name == "finish")
    parent = store.job(stored.job.train.init_from_job)
    assert parent is not None and parent.result is not None and parent.result.train is not None
    outcome = ConfigOutcome(
        name="parent", job_hash=parent.hash, status="ok", train=parent.job.train, steps=parent.result.train.steps
    )
    # the runs this reruns (before 2026-12-06's STEP_CEILING of 2) planned a quarter's headroom over the pace
    lr = tail_rate(outcome, stored.job.train.max_steps * 4 // 5)
    job = stored.job.model_copy(update={"train": stored.job.train.model_copy(update={"learning_rate": lr})})
    request = JobRequest(job=job, workdir=str(work / "tail"), init_from=parent.workdir, score_test=True)
    tail = _run(request)
    before = stored.result
    if before is not None and before.status == "ok" and before.test is None:  # scored here, the store unchanged
        test_only = JobRequest(job=stored.job, workdir=str(work / "test"), init_from=stored.workdir, test_only=True)
        before = before.model_copy(update={"test": _run(test_only).test})
    row = {
        "workspace": str(workspace),
        "parent": _scores(parent.result, parent.job.train.learning_rate),
        "stored": _scores(before, stored.job.train.learning_rate),
        "tail": _scores(tail, lr),
    }
    if tail.status != "ok":
        row["tail"]["error"] = tail.error
    store.close()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspaces", type=Path, nargs="+")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for workspace in args.workspaces:
        with tempfile.TemporaryDirectory(prefix="trex-final-tail-") as tmp:
            rows.append(rerun(workspace, Path(tmp)))
    print(json.dumps(rows, indent=None if args.json else 1))


if __name__ == "__main__":
    main()
