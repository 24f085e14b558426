"""FakeScheduler: a scheduler with the real slot logic that returns canned JobResults instead of training.

Each submitted job waits for a free slot (a logical GPU id), holds it for ``seconds(job)`` (0 by
default; a config's ``max_seconds`` caps it, as the worker's time fit does; a base-model job's ``calibrate``
config adds its own seconds and is reported as ``calibration``), writes ``running.json``
like a real worker, and returns an ``ok`` result whose validation score is ``score(job)`` (a failure
with the message ``error(job)`` when it returns None); the test split is scored only when the
request asks for it, as the worker does. Every run is recorded in ``runs`` as (hash, gpu, start,
end), so tests check that no slot was held twice at once and that no job ran twice.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path

from trex.evaluation.intervals import Score
from trex.evaluation.run import SplitResult
from trex.runtime.base import RUNNING_FILE, ThreadedScheduler
from trex.runtime.job import Job, JobRequest, JobResult
from trex.train.common import TrainLog


def default_score(job: Job) -> float:
    """A deterministic score in [0.5, 0.9] from the job's hash (the baseline scores 0.5)."""
    return 0.5 if job.train is None else 0.5 + int(job.content_hash()[:6], 16) % 400 / 1000


def canned_result(
    job: Job, score: float | None, seconds: float, gpu: str | None, error: str = "canned failure", test: bool = True
) -> JobResult:
    job_hash = job.content_hash()
    if score is None:
        result = JobResult.failure(job_hash, error, "exception", seconds)
    else:
        split = Score(value=score, low=score - 0.02, high=score + 0.02, n=100)
        steps = job.train.max_steps if job.train else 0
        result = JobResult(
            job_hash=job_hash,
            status="ok",
            validation=SplitResult(split="validation", score=split),
            test=SplitResult(split="test", score=split) if test else None,
            train=TrainLog(
                steps=steps, losses=[(1, 2.0), (steps, 1.0)], train_rows=100, seconds=seconds, trainable_params=1
            )
            if job.train
            else None,
            seconds=seconds,
        )
    return result.model_copy(update={"gpus": 1 if gpu else 0, "gpu_ids": gpu})


class FakeScheduler(ThreadedScheduler):
    def __init__(
        self,
        gpus: int = 1,
        seconds: Callable[[Job], float] = lambda job: 0.0,
        score: Callable[[Job], float | None] = default_score,
        error: Callable[[Job], str] = lambda job: "canned failure",
        fits_training: bool = True,
    ) -> None:
        """``fits_training`` False: a job's seconds are not training the worker can cut short to end by the run's
        budget (``JobRequest.train_until``): a job that hangs, which only the grace period's cancellation ends."""
        super().__init__()
        self.fits_training = fits_training
        self.gpus_per_job = 1 if gpus else 0
        self.n_slots = max(1, gpus)
        self.seconds, self.score, self.error = seconds, score, error
        self._free: queue.Queue[str | None] = queue.Queue()
        for slot in [str(i) for i in range(gpus)] or [None]:
            self._free.put(slot)
        self.runs: list[tuple[str, str | None, float, float]] = []
        self.test_runs: list[str] = []  # jobs whose test split was scored on demand
        self.requests: list[JobRequest] = []  # every request submitted, in order
        self._lock = threading.Lock()

    @property
    def slots(self) -> int:
        return self.n_slots

    def execute(self, request: JobRequest, deadline: float | None) -> JobResult:
        with self._lock:
            self.requests.append(request)
        if request.test_only:  # scoring a finished job's test split: instant, and not a run of the job
            self.test_runs.append(request.job.content_hash())
            result = canned_result(request.job, self.score(request.job), 0.0, None, test=True)
            return result.model_copy(update={"validation": None, "train": None})
        gpu = self._free.get()
        try:
            start = time.time()
            workdir = Path(request.workdir)
            workdir.mkdir(parents=True, exist_ok=True)
            (workdir / RUNNING_FILE).write_text(json.dumps({"gpu": gpu, "started": start}))
            seconds = self.seconds(request.job)
            timed = request.job.calibrate  # a base-model job that also times a config: the config's seconds too
            calibrating = self.seconds(request.job.model_copy(update={"train": timed})) if timed else 0.0
            seconds += calibrating
            train = request.job.train
            if train is not None and train.max_seconds is not None:  # the worker fits such a run into its seconds
                seconds = min(seconds, train.max_seconds)
            if train is not None and request.train_until is not None and self.fits_training:  # and by the budget
                seconds = min(seconds, max(0.0, request.train_until - start))
            if deadline is not None and start + seconds > deadline:
                time.sleep(max(0.0, deadline - start))
                job_hash = request.job.content_hash()
                return JobResult.failure(job_hash, "cancelled: budget and grace period ran out", "cancelled")
            time.sleep(seconds)
            test = request.score_test or request.test_only  # the test split only where the loop asks for it
            result = canned_result(request.job, self.score(request.job), seconds, gpu, self.error(request.job), test)
            if timed is not None and result.status == "ok":
                log = TrainLog(steps=timed.max_steps, losses=[], train_rows=1, seconds=calibrating, trainable_params=1)
                result = result.model_copy(update={"calibration": log})
        finally:
            with self._lock:
                self.runs.append((request.job.content_hash(), gpu, start, time.time()))
            self._free.put(gpu)
        return result
