"""The Slurm scheduler: one Slurm job per trex Job through submitit (extra ``slurm``).

Each job asks for one GPU (``gpus_per_node=1``; none with ``gpus=0``), the job timeout as its time
limit, and runs ``run_worker`` on the node, so the Job, its worker subprocess, its result.json and
its failure classes are the same as on a workstation. submitit's logs go to ``folder``, which must
be on a filesystem shared with the compute nodes, like the workspace. ``cluster="local"`` uses
submitit's local executor (tests, or a machine without Slurm). Slurm queues what it cannot run yet,
so the slots are ``max_jobs`` (what the loop may keep submitted); ``gpus_in_use(n)`` is n jobs times
the GPUs each asks for, so the GPU-hour deadline divides by every job in flight.
"""

from __future__ import annotations

import os
from pathlib import Path

from trex.runtime.base import ThreadedScheduler, run_worker
from trex.runtime.job import JobRequest, JobResult


class SlurmScheduler(ThreadedScheduler):
    def __init__(
        self,
        folder: str | Path,
        timeout_s: float = 3600.0,
        partition: str | None = None,
        gpus: int = 1,
        cpus_per_task: int = 8,
        cluster: str | None = None,
        max_jobs: int = 8,
    ) -> None:
        super().__init__()
        try:
            import submitit
        except ImportError as exc:
            raise RuntimeError("the slurm scheduler needs submitit: pip install 'trex[slurm]'") from exc
        self.timeout_s = timeout_s
        self.gpus = self.gpus_per_job = gpus
        self.max_jobs = max_jobs
        self.executor = submitit.AutoExecutor(folder=str(folder), cluster=cluster)
        params: dict[str, object] = {
            "timeout_min": max(1, int(timeout_s / 60) + 1),
            "cpus_per_task": cpus_per_task,
            "gpus_per_node": gpus,
        }
        if partition and self.executor.cluster == "slurm":
            params["slurm_partition"] = partition
        self.executor.update_parameters(**params)

    @property
    def slots(self) -> int:
        return self.max_jobs

    def gpus_in_use(self, jobs_in_flight: int) -> int:
        return jobs_in_flight * self.gpus  # each Slurm job holds its own GPUs, however many are in flight

    def execute(self, request: JobRequest, deadline: float | None) -> JobResult:
        job = self.executor.submit(_slurm_job, request.model_dump_json(), self.timeout_s, deadline)
        try:
            return JobResult.model_validate_json(job.result())
        except Exception as exc:  # the Slurm job itself failed (node lost, preempted, killed)
            return JobResult.failure(request.job.content_hash(), f"slurm job failed: {exc}"[:2000], "crash")


def _slurm_job(request_json: str, timeout_s: float, deadline: float | None = None) -> str:
    request = JobRequest.model_validate_json(request_json)
    gpus = os.environ.get("CUDA_VISIBLE_DEVICES") or None
    return run_worker(request, gpus, timeout_s, deadline).model_dump_json()
