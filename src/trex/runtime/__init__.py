"""Job runtime: a job's life once planned: the Job spec, the worker process, the warm fork server, the schedulers.

``make_scheduler`` is the factory: ``local`` (``runtime/local.py``), ``ray`` (``runtime/ray.py``),
``slurm`` (``runtime/slurm.py``), all built on ``runtime/base.py``. Ray and submitit are imported
only when their scheduler is chosen. A Ray scheduler given the ``workspace`` checks that every
node of the cluster sees it, and refuses to start otherwise.
"""

from __future__ import annotations

from pathlib import Path

from trex.runtime.base import Scheduler


def make_scheduler(
    name: str,
    timeout_s: float,
    ray_address: str | None = None,
    slurm_folder: str | None = None,
    slurm_partition: str | None = None,
    workspace: Path | None = None,
) -> Scheduler:
    if name == "local":
        from trex.runtime.local import LocalScheduler

        return LocalScheduler(timeout_s=timeout_s)
    if name == "ray":
        from trex.runtime.ray import RayScheduler

        scheduler = RayScheduler(timeout_s=timeout_s, address=ray_address)
        if workspace is not None:
            scheduler.check_workspace(workspace)
        return scheduler
    if name == "slurm":
        from trex.runtime.slurm import SlurmScheduler

        return SlurmScheduler(folder=slurm_folder or "slurm", timeout_s=timeout_s, partition=slurm_partition)
    raise ValueError(f"unknown scheduler {name!r}: local, ray or slurm")
