"""The local scheduler: as many jobs at once as visible GPUs, one GPU each through CUDA_VISIBLE_DEVICES;
one job at a time on a CPU-only machine (two training processes on a few cores collapse throughput)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from trex.runtime.base import OnDone, run_worker, visible_gpus
from trex.runtime.job import JobRequest


class LocalScheduler:
    """A pool of worker subprocesses: one per GPU at a time, or one at a time on CPU."""

    def __init__(self, timeout_s: float = 3600.0, gpus: list[str] | None = None) -> None:
        self.timeout_s = timeout_s
        self.gpus = visible_gpus() if gpus is None else gpus

    @property
    def parallel_gpus(self) -> int:
        return len(self.gpus)

    def run(self, requests: Sequence[JobRequest], on_done: OnDone, deadline: float | None = None) -> None:
        slots: queue.Queue[str | None] = queue.Queue()
        for gpu in self.gpus or [None]:
            slots.put(gpu)
        lock = threading.Lock()

        def one(request: JobRequest) -> None:
            gpu = slots.get()
            try:
                result = run_worker(request, gpu, self.timeout_s, deadline)
            finally:
                slots.put(gpu)
            with lock:
                on_done(request, result)

        with ThreadPoolExecutor(max_workers=max(1, len(self.gpus))) as pool:
            for future in [pool.submit(one, r) for r in requests]:
                future.result()
