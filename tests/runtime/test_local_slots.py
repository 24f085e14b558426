"""The local scheduler's slots on a machine with GPUs: a job holds the GPUs its config asks for (one by default),
waits until that many are free, and no GPU is ever held by two jobs at once. The worker is replaced by one that
only records the GPUs it was given and sleeps: the slot logic is the scheduler's own."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from trex.runtime import local
from trex.runtime.job import Job, JobRequest, JobResult


def test_a_job_holds_the_gpus_its_config_asks_for(tiny_task, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spans: list[tuple[int, list[str], float, float]] = []
    lock = threading.Lock()

    def worker(
        request: JobRequest, gpu: str | None, timeout_s: float, deadline: float | None = None, warm: bool = False
    ) -> JobResult:
        start = time.monotonic()
        time.sleep(0.3)
        with lock:
            spans.append((request.job.train.max_steps, gpu.split(","), start, time.monotonic()))
        return JobResult(job_hash=request.job.content_hash(), status="ok", gpu_ids=gpu)

    monkeypatch.setattr(local, "run_worker", worker)
    scheduler = local.LocalScheduler(timeout_s=60, gpus=["0", "1", "2"])
    asks = [2, None, 3, 1, 2, 9]  # 9: more than the machine has, capped at its 3
    requests = [
        JobRequest(
            job=Job(
                base_model=tiny_task.base_model,
                eval=tiny_task.eval,
                train=tiny_task.training.model_copy(update={"gpus": gpus, "max_steps": i + 1}),
            ),
            workdir=str(tmp_path / f"j{i}"),
        )  # fmt: skip
        for i, gpus in enumerate(asks)
    ]
    scheduler.run(requests, lambda request, result: None)
    held = {steps: gpus for steps, gpus, _, _ in spans}
    assert [len(held[i + 1]) for i in range(len(asks))] == [2, 1, 3, 1, 2, 3]
    for a in spans:
        for b in spans:
            overlap = a is not b and a[2] < b[3] and b[2] < a[3]
            assert not (overlap and set(a[1]) & set(b[1])), "a GPU held by two jobs at once"
    assert sorted(scheduler._free) == ["0", "1", "2"]  # every GPU given back
