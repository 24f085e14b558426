"""The local scheduler: one slot per visible GPU, one job per slot through CUDA_VISIBLE_DEVICES; one slot on a
CPU-only machine (two training processes on a few cores collapse throughput).

The same slot logic as a Ray cluster, for the GPUs of one machine: a submitted job waits for a free
GPU (or, when its config asks for ``gpus: n``, for n free GPUs at once, capped at the machine's),
holds them while its worker runs, and gives them back when the worker ends, so no two jobs ever
share a GPU. Slots count one-GPU jobs; a job that asks for more waits until that many are free.
A CPU job starts warm (``trex.runtime.warm``: a child of a fork server that imported the worker's libraries
once for the run); a GPU job starts a cold worker process.
"""

from __future__ import annotations

import threading

from trex.runtime.base import ThreadedScheduler, run_worker, visible_gpus
from trex.runtime.job import JobRequest, JobResult


class LocalScheduler(ThreadedScheduler):
    """Worker subprocesses on this machine: one per GPU at a time, or one at a time on CPU."""

    def __init__(self, timeout_s: float = 3600.0, gpus: list[str] | None = None) -> None:
        super().__init__()
        self.timeout_s = timeout_s
        self.gpus = visible_gpus() if gpus is None else gpus
        self.gpus_per_job = 1 if self.gpus else 0
        self._free = list(self.gpus)  # GPU ids not held by a job
        self._cpu_busy = False  # a CPU-only machine runs one job at a time
        self._changed = threading.Condition()

    @property
    def slots(self) -> int:
        return max(1, len(self.gpus))

    def execute(self, request: JobRequest, deadline: float | None) -> JobResult:
        held = self._take(request)
        try:
            return run_worker(request, ",".join(held) if held else None, self.timeout_s, deadline, warm=True)
        finally:
            with self._changed:
                self._free.extend(held)
                if not self.gpus:
                    self._cpu_busy = False
                self._changed.notify_all()

    def _take(self, request: JobRequest) -> list[str]:
        """Block until the job's GPUs (or, on a CPU, the machine) are free; the GPU ids it now holds."""
        train = request.job.train
        wanted = min(len(self.gpus), (train.gpus if train is not None and train.gpus else 1))
        with self._changed:
            if not self.gpus:
                self._changed.wait_for(lambda: not self._cpu_busy)
                self._cpu_busy = True
                return []
            self._changed.wait_for(lambda: len(self._free) >= wanted)
            held, self._free = self._free[:wanted], self._free[wanted:]
            return held
