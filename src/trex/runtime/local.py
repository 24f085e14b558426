"""The local scheduler: one slot per visible GPU, one job per slot through CUDA_VISIBLE_DEVICES; one slot on a
CPU-only machine (two training processes on a few cores collapse throughput).

The same slot logic as a Ray cluster, for the GPUs of one machine: a submitted job waits for a free
GPU, holds it while its worker runs, and gives it back when the worker ends, so no two jobs ever
share a GPU.
"""

from __future__ import annotations

import queue

from trex.runtime.base import ThreadedScheduler, run_worker, visible_gpus
from trex.runtime.job import JobRequest, JobResult


class LocalScheduler(ThreadedScheduler):
    """Worker subprocesses on this machine: one per GPU at a time, or one at a time on CPU."""

    def __init__(self, timeout_s: float = 3600.0, gpus: list[str] | None = None) -> None:
        super().__init__()
        self.timeout_s = timeout_s
        self.gpus = visible_gpus() if gpus is None else gpus
        self.gpus_per_job = 1 if self.gpus else 0
        self._free: queue.Queue[str | None] = queue.Queue()
        for gpu in self.gpus or [None]:
            self._free.put(gpu)

    @property
    def slots(self) -> int:
        return max(1, len(self.gpus))

    def execute(self, request: JobRequest, deadline: float | None) -> JobResult:
        gpu = self._free.get()
        try:
            return run_worker(request, gpu, self.timeout_s, deadline)
        finally:
            self._free.put(gpu)
