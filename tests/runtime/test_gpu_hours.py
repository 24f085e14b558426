"""The GPU-hour deadline divides by the GPUs the jobs in flight hold: a job whose config asks for 2 GPUs counts 2,
not the scheduler's one per job (issue 40)."""

from __future__ import annotations

import time
from pathlib import Path

from tests.fakes import FakeScheduler
from trex.runtime.job import Job, JobRequest


def _request(tiny_task, tmp_path: Path, name: str, gpus: int | None) -> JobRequest:  # noqa: ANN001
    train = tiny_task.training.model_copy(update={"gpus": gpus, "max_steps": len(name)})
    return JobRequest(job=Job(base_model=tiny_task.base_model, eval=tiny_task.eval, train=train),
                      workdir=str(tmp_path / name))  # fmt: skip


def test_gpus_in_use_counts_each_jobs_gpus(tiny_task, tmp_path: Path) -> None:
    scheduler = FakeScheduler(gpus=4, seconds=lambda job: 1.0)
    assert scheduler.gpus_in_use(2) == 2  # nothing submitted yet: one GPU a job
    scheduler.submit(_request(tiny_task, tmp_path, "two", 2))
    scheduler.submit(_request(tiny_task, tmp_path, "one", None))
    time.sleep(0.2)
    assert scheduler.gpus_in_use(2) == 3  # 2 + 1, where one GPU a job said 2
    assert scheduler.gpus_in_use(3) == 4  # and a job about to start: one more
    done = scheduler.wait(5.0)
    while len(done) < 2:
        done += scheduler.wait(5.0)
    assert scheduler.gpus_in_use(2) == 2 and scheduler.gpus_in_use(0) == 0  # both finished: none held
