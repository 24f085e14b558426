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


def _visible_gpus(request_json: str, timeout_s: float, deadline: float | None = None) -> str:
    """A Ray task that trains nothing: it reports the GPUs Ray gave it, as a worker would."""
    import os
    import time

    from trex.runtime.job import JobResult

    request = JobRequest.model_validate_json(request_json)
    gpus = os.environ.get("CUDA_VISIBLE_DEVICES") or None
    time.sleep(0.5)
    result = JobResult(job_hash=request.job.content_hash(), status="ok", gpu_ids=gpus)
    return result.model_copy(update={"gpus": len(gpus.split(",")) if gpus else 0}).model_dump_json()


def test_ray_gives_a_job_the_gpus_its_config_asks_for(tiny_task, tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    from trex.runtime.ray import RayScheduler

    class Probe(RayScheduler):
        def remote_job(self):  # noqa: ANN202
            return _visible_gpus

    def request(i: int, gpus: int | None) -> JobRequest:
        train = tiny_task.training.model_copy(update={"gpus": gpus, "max_steps": i + 1})
        return JobRequest(job=Job(base_model=tiny_task.base_model, train=train, eval=tiny_task.eval),
                          workdir=str(tmp_path / f"j{i}"))  # fmt: skip

    try:
        scheduler = Probe(timeout_s=60, num_cpus=4, num_gpus=4, include_dashboard=False)
        results = []
        requests = [request(0, 2), request(1, None), request(2, 3), request(3, 5)]
        scheduler.run(requests, lambda req, result: results.append((req.job.train.max_steps, result)))
    finally:
        ray.shutdown()
    by_job = {steps: result for steps, result in results}
    assert by_job[1].gpus == 2 and by_job[2].gpus == 1 and by_job[3].gpus == 3
    assert len(set(by_job[3].gpu_ids.split(","))) == 3
    assert by_job[4].status == "failed" and "asks for 5 GPUs; the largest Ray node has 4" in by_job[4].error
    # an unset count leaves the config's serialization, and so the job's hash, as it was
    assert "gpus" not in tiny_task.training.model_dump_json()
