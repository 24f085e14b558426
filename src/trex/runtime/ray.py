"""The Ray scheduler: one Ray task per Job holding ``gpus_per_job`` GPUs (1 by default; extra ``ray``), or the
GPUs the job's training config asks for (``gpus: n``: Ray places it on a node with n free GPUs).

``address`` None starts or joins a local Ray; a cluster address (or ``RAY_ADDRESS``) runs jobs on
its nodes. Ray is the engine for more than one machine: it places each task on a node with a free
GPU and sets ``CUDA_VISIBLE_DEVICES`` for it; the task passes it to ``run_worker``, so a job sees
exactly the GPUs Ray gave it, and the result records them (``gpu_ids``). Slots are the cluster's
GPUs divided by ``gpus_per_job``; a cluster without GPUs has one slot (jobs run one at a time, as on
a CPU workstation). The workspace must be on a filesystem every Ray node shares:
``check_workspace`` writes a marker file and runs a task on every alive node that looks for it, and
refuses (``WorkspaceNotShared``, a ValueError) when one cannot see it; ``trex run`` makes the
scheduler before it writes the workspace, so the refusal is exit 2 and leaves nothing behind. Timeouts,
cancellation and failure classes are ``run_worker``'s.

The run's LLM endpoints (``TREX_LLM_*`` and the key variables they name) go into every task's runtime environment
(``env_vars``), so a plan's LLM operators resolve on any node (``trex.llm.endpoints``).

Ray workers are reused across jobs (``max_calls=0``). Ray's default for a task that holds a GPU is
``max_calls=1``: a fresh Ray worker process per task, so that a task which initialised CUDA gives its
GPU memory back. A trex task never touches the GPU (the job's own ``trex.runtime.worker`` subprocess
does, and exits), so that default only costs a process start and the import of the job modules on
every job, seconds against milliseconds with reused workers (docs/benchmarks/parallel-nodes.md).
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from pathlib import Path

from trex.llm.endpoints import job_environment
from trex.runtime.base import ThreadedScheduler, run_worker
from trex.runtime.job import JobRequest, JobResult


class WorkspaceNotShared(ValueError):
    """A Ray node cannot see the workspace: bad input to the run (exit 2), found before the workspace is written."""


class RayScheduler(ThreadedScheduler):
    def __init__(
        self, timeout_s: float = 3600.0, address: str | None = None, gpus_per_job: int = 1, **init_kwargs: object
    ) -> None:
        super().__init__()
        try:
            import ray
        except ImportError as exc:
            raise RuntimeError("the ray scheduler needs Ray: pip install 'trex[ray]'") from exc
        self._ray = ray
        if not ray.is_initialized():
            ray.init(address=address, ignore_reinit_error=True, log_to_driver=False, **init_kwargs)
        self.timeout_s = timeout_s
        gpus = int(ray.cluster_resources().get("GPU", 0))
        self.gpus_per_job = gpus_per_job if gpus else 0
        self._slots = max(1, gpus // gpus_per_job) if gpus else 1
        self._cpu_slot = threading.Semaphore(1)  # a cluster without GPUs runs one job at a time
        self._task = ray.remote(**self.task_options)(self.remote_job())
        alive = [n for n in ray.nodes() if n.get("Alive")]
        self.node_gpus = max((int(n.get("Resources", {}).get("GPU", 0)) for n in alive), default=0)

    @property
    def slots(self) -> int:
        return self._slots

    @property
    def task_options(self) -> dict[str, int]:
        """The options of every job's Ray task: its GPUs, and reused Ray workers (see the module docstring)."""
        return {"num_gpus": self.gpus_per_job, "max_calls": 0}

    def remote_job(self):  # noqa: ANN201 - a plain function Ray turns into a task
        """The function each Ray task runs (a subclass may run something else, e.g. a benchmark's sleep)."""
        return _ray_job

    def gpus_of(self, request: JobRequest) -> int:
        """What the config asks for, not capped at the slots: a job asking for more than any node has fails fast."""
        train = request.job.train
        return train.gpus if self.gpus_per_job and train is not None and train.gpus else self.gpus_per_job

    def execute(self, request: JobRequest, deadline: float | None) -> JobResult:
        if self.gpus_per_job:
            task, gpus = self._task, self.gpus_of(request)
            if gpus > self.node_gpus:  # Ray would wait for it forever
                error = f"the job's config asks for {gpus} GPUs; the largest Ray node has {self.node_gpus}"
                return JobResult.failure(request.job.content_hash(), error, "exception")
            if gpus != self.gpus_per_job:
                task = task.options(num_gpus=gpus)
            ref = _with_llm_env(task).remote(request.model_dump_json(), self.timeout_s, deadline)
            return JobResult.model_validate_json(self._ray.get(ref))
        with self._cpu_slot:
            ref = _with_llm_env(self._task).remote(request.model_dump_json(), self.timeout_s, deadline)
            return JobResult.model_validate_json(self._ray.get(ref))

    def check_workspace(self, workspace: Path) -> None:
        """Refuse (``WorkspaceNotShared``) unless every alive Ray node sees ``workspace`` (a shared filesystem).
        A workspace not made yet is checked through its nearest existing parent, so nothing is written in it."""
        folder = Path(workspace).resolve()
        while not folder.is_dir():  # the root always is
            folder = folder.parent
        marker = folder / f".trex-shared-{uuid.uuid4().hex[:12]}"
        marker.write_text("trex checks that every Ray node sees the workspace\n", encoding="utf-8")
        try:
            blind = self._blind_nodes(marker)
        finally:
            marker.unlink(missing_ok=True)
        if blind:
            raise WorkspaceNotShared(
                f"the workspace {workspace} is not visible from Ray node(s) {', '.join(sorted(set(blind)))}: "
                "put it on a filesystem every node mounts at the same path (NFS, Lustre, ...); see docs/gpu.md"
            )

    def _blind_nodes(self, marker: Path) -> list[str]:
        """The hosts of the alive Ray nodes that do not see ``marker`` (one task pinned to each node)."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        probe = self._ray.remote(num_cpus=0)(_sees)
        nodes = [n["NodeID"] for n in self._ray.nodes() if n.get("Alive")]
        refs = [
            probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote(str(marker))
            for node in nodes
        ]
        return [host for host, seen in self._ray.get(refs, timeout=120) if not seen]


def _with_llm_env(task):  # noqa: ANN001, ANN202 - a Ray remote function
    """The task with the run's LLM endpoints in its runtime environment (``trex.llm.endpoints.job_environment``): a
    Ray worker on another node does not inherit the run's environment, and a plan's LLM operators resolve there."""
    env = job_environment()
    return task.options(runtime_env={"env_vars": env}) if env else task


def _sees(marker: str) -> tuple[str, bool]:
    return socket.gethostname(), os.path.exists(marker)


def _ray_job(request_json: str, timeout_s: float, deadline: float | None = None) -> str:
    request = JobRequest.model_validate_json(request_json)
    gpus = os.environ.get("CUDA_VISIBLE_DEVICES") or None
    return run_worker(request, gpus, timeout_s, deadline).model_dump_json()
