"""A ``trex run`` whose jobs only hold a slot: the search loop on the FakeScheduler, in a process a test can SIGKILL.

    python -m tests.run.fake_run WORKSPACE STARTS_FILE ITERATIONS    (from the repository root)

Runs the tiny task with ``--parallel-nodes 2`` on four logical GPUs, or resumes it where WORKSPACE already holds
the run. Every training job holds its slot for ``JOB_S`` seconds and writes ``running.json`` (tests/fakes.py), so
two nodes are in flight at once without two models training on two cores. Each job the loop submits appends
``{"hash", "pid"}`` to STARTS_FILE: which session ran which job, after the process is gone.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

from tests.conftest import TINY_TASK
from tests.fakes import FakeScheduler
from trex.run.loop import SearchLoop
from trex.run.options import RunOptions
from trex.run.workspace import open_resume, open_run
from trex.runtime.job import JobRequest, JobResult
from trex.task.spec import load_task

JOB_S = 1.0
SLOTS = 4


class LoggedScheduler(FakeScheduler):
    def __init__(self, starts: Path) -> None:
        super().__init__(gpus=SLOTS, seconds=lambda job: JOB_S if job.train else 0.0)
        self.starts, self._log_lock = starts, threading.Lock()

    def execute(self, request: JobRequest, deadline: float | None) -> JobResult:
        if not request.test_only:
            with self._log_lock, self.starts.open("a") as handle:
                handle.write(json.dumps({"hash": request.job.content_hash(), "pid": os.getpid()}) + "\n")
        return super().execute(request, deadline)


def main(workspace: Path, starts: Path, iterations: int) -> None:
    options = RunOptions(iterations=iterations, parallel_nodes=2)
    if (workspace / "trex.db").exists():
        store, task = open_resume(workspace)
    else:
        store, task = open_run(workspace, load_task(TINY_TASK), TINY_TASK, options)
    SearchLoop(store, task, options, scheduler=LoggedScheduler(starts)).run()
    store.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))
