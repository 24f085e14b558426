"""The Ray scheduler: one Ray task per Job, one GPU each when the cluster has GPUs (extra ``ray``).

``address`` None starts or joins a local Ray; a cluster address (or ``RAY_ADDRESS``) runs jobs on
its nodes, which must share the workspace's filesystem. Ray sets ``CUDA_VISIBLE_DEVICES`` for each
task; the task passes it to ``run_worker``, so a job sees exactly the GPU Ray gave it, and the
result records it (``gpu_ids``). Timeouts, cancellation and failure classes are ``run_worker``'s.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from trex.runtime.base import OnDone, run_worker
from trex.runtime.job import JobRequest, JobResult


class RayScheduler:
    def __init__(self, timeout_s: float = 3600.0, address: str | None = None, **init_kwargs: object) -> None:
        try:
            import ray
        except ImportError as exc:
            raise RuntimeError("the ray scheduler needs Ray: pip install 'trex[ray]'") from exc
        self._ray = ray
        if not ray.is_initialized():
            ray.init(address=address, ignore_reinit_error=True, log_to_driver=False, **init_kwargs)
        self.timeout_s = timeout_s

    @property
    def parallel_gpus(self) -> int:
        return int(self._ray.cluster_resources().get("GPU", 0))

    def run(self, requests: Sequence[JobRequest], on_done: OnDone, deadline: float | None = None) -> None:
        ray = self._ray
        task = ray.remote(num_gpus=1 if self.parallel_gpus else 0)(_ray_job)
        pending = {task.remote(r.model_dump_json(), self.timeout_s, deadline): r for r in requests}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            request = pending.pop(done[0])
            on_done(request, JobResult.model_validate_json(ray.get(done[0])))


def _ray_job(request_json: str, timeout_s: float, deadline: float | None = None) -> str:
    request = JobRequest.model_validate_json(request_json)
    gpus = os.environ.get("CUDA_VISIBLE_DEVICES") or None
    return run_worker(request, gpus, timeout_s, deadline).model_dump_json()
