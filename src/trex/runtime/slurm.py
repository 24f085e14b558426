"""The Slurm scheduler: one Slurm job per trex Job through submitit (extra ``slurm``).

Each job asks for one GPU (``gpus_per_node=1``; none with ``gpus=0``), the job timeout as its time
limit, and runs ``run_worker`` on the node, so the Job, its worker subprocess, its result.json and
its failure classes are the same as on a workstation. submitit's logs go to ``folder``, which must
be on a filesystem shared with the compute nodes, like the workspace. ``cluster="local"`` uses
submitit's local executor (tests, or a machine without Slurm).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from trex.runtime.base import OnDone, run_worker
from trex.runtime.job import JobRequest, JobResult


class SlurmScheduler:
    def __init__(
        self,
        folder: str | Path,
        timeout_s: float = 3600.0,
        partition: str | None = None,
        gpus: int = 1,
        cpus_per_task: int = 8,
        cluster: str | None = None,
    ) -> None:
        try:
            import submitit
        except ImportError as exc:
            raise RuntimeError("the slurm scheduler needs submitit: pip install 'trex[slurm]'") from exc
        self.timeout_s = timeout_s
        self.gpus = gpus
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
    def parallel_gpus(self) -> int:
        return self.gpus

    def run(self, requests: Sequence[JobRequest], on_done: OnDone, deadline: float | None = None) -> None:
        jobs = [(self.executor.submit(_slurm_job, r.model_dump_json(), self.timeout_s, deadline), r) for r in requests]
        for job, request in jobs:
            try:
                result = JobResult.model_validate_json(job.result())
            except Exception as exc:  # the Slurm job itself failed (node lost, preempted, killed)
                result = JobResult.failure(request.job.content_hash(), f"slurm job failed: {exc}"[:2000], "crash")
            on_done(request, result)


def _slurm_job(request_json: str, timeout_s: float, deadline: float | None = None) -> str:
    request = JobRequest.model_validate_json(request_json)
    gpus = os.environ.get("CUDA_VISIBLE_DEVICES") or None
    return run_worker(request, gpus, timeout_s, deadline).model_dump_json()
