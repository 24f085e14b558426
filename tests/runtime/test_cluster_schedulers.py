"""The same Jobs through Ray (with logical GPUs, to check placement) and through Slurm (submitit's local executor)."""

from __future__ import annotations

from pathlib import Path

import pytest

from trex.runtime.job import Job, JobRequest

pytestmark = pytest.mark.slow


def _eval_jobs(tiny_task, tmp_path: Path, n: int) -> list[JobRequest]:
    evaluation = tiny_task.eval.model_copy(update={"max_examples": 8})
    return [
        JobRequest(job=Job(base_model=tiny_task.base_model, eval=evaluation, seed=i), workdir=str(tmp_path / f"j{i}"))
        for i in range(n)
    ]


def test_ray_gives_each_job_its_own_gpu(tiny_task, tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    from trex.runtime.ray import RayScheduler

    try:
        scheduler = RayScheduler(timeout_s=300, num_cpus=2, num_gpus=2, include_dashboard=False)
        assert scheduler.parallel_gpus == 2
        results = []
        scheduler.run(_eval_jobs(tiny_task, tmp_path, 2), lambda request, result: results.append(result))
    finally:
        ray.shutdown()
    assert [r.status for r in results] == ["ok", "ok"], [r.error for r in results]
    assert sorted(r.gpu_ids for r in results) == ["0", "1"]  # one logical GPU each, both used
    assert all(r.gpus == 1 for r in results)


def test_slurm_through_submitit_local_executor(tiny_task, tmp_path: Path) -> None:
    pytest.importorskip("submitit")
    from trex.runtime.slurm import SlurmScheduler

    scheduler = SlurmScheduler(folder=tmp_path / "slurm", timeout_s=300, gpus=0, cluster="local")
    results = []
    scheduler.run(_eval_jobs(tiny_task, tmp_path, 2), lambda request, result: results.append(result))
    assert [r.status for r in results] == ["ok", "ok"], [r.error for r in results]
    assert all(r.val_score is not None for r in results)
    assert any((tmp_path / "slurm").iterdir())  # submitit's logs and pickles
