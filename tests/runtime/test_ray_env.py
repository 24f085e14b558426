"""The Ray scheduler puts the run's LLM endpoints (TREX_LLM_* and the key variable they name) in every task's
runtime environment, so a plan's LLM operators resolve on a Ray node that does not inherit the run's environment.
Without a Ray cluster: the scheduler's ``execute`` runs against a stand-in of Ray's task API (the constructor, which
starts Ray, is skipped); the real cluster path is covered by test_ray_parallel.py (slow)."""

from __future__ import annotations

import os
import threading

from trex.agents.recipes import base_recipe
from trex.llm.endpoints import Endpoint, job_environment, register, resolve
from trex.runtime.job import Job, JobRequest, JobResult
from trex.runtime.ray import RayScheduler


class _Task:
    """Ray's remote function, as far as ``execute`` uses it: ``options`` and ``remote``."""

    def __init__(self, calls: list[dict], options: dict | None = None) -> None:
        self.calls, self.opts = calls, options or {}

    def options(self, **kwargs: object) -> _Task:
        return _Task(self.calls, {**self.opts, **kwargs})

    def remote(self, request_json: str, timeout_s: float, deadline: float | None) -> str:
        self.calls.append(self.opts)
        job = JobRequest.model_validate_json(request_json).job
        return JobResult.failure(job.content_hash(), "not run", "exception").model_dump_json()


class _Ray:
    @staticmethod
    def get(ref: str) -> str:
        return ref


def _scheduler(calls: list[dict], gpus_per_job: int) -> RayScheduler:
    scheduler = RayScheduler.__new__(RayScheduler)
    scheduler._ray, scheduler._task, scheduler.timeout_s = _Ray(), _Task(calls, {"max_calls": 0}), 60.0
    scheduler.gpus_per_job, scheduler.node_gpus, scheduler._cpu_slot = gpus_per_job, 1, threading.Semaphore(1)
    scheduler._slots = 1
    return scheduler


def test_job_environment_holds_the_endpoints_and_their_key_only() -> None:
    environ = {"PATH": "/bin", "MY_KEY": "sk-secret", "OTHER_KEY": "x"}
    register("researcher", Endpoint("served", "http://user:pw@127.0.0.1:9/v1", "MY_KEY"), environ)
    env = job_environment(environ)
    assert set(env) == {"TREX_LLM_ENDPOINT_RESEARCHER", "TREX_LLM_USERINFO_RESEARCHER", "MY_KEY"}
    assert resolve("researcher", env) == Endpoint("served", "http://user:pw@127.0.0.1:9/v1", "MY_KEY")
    assert job_environment({"PATH": "/bin"}) == {}


def test_every_ray_task_gets_the_llm_endpoints_in_its_runtime_env(tiny_task, tmp_path, monkeypatch) -> None:
    job = Job(base_model=tiny_task.base_model, recipe=base_recipe(tiny_task, 8, 0), train=tiny_task.training,
              eval=tiny_task.eval)  # fmt: skip
    request = JobRequest(job=job, workdir=str(tmp_path))
    for name in [k for k in os.environ if k.startswith("TREX_LLM_")]:
        monkeypatch.delenv(name)
    calls: list[dict] = []
    _scheduler(calls, 0).execute(request, None)
    assert "runtime_env" not in calls[-1]  # no endpoint registered: the task as it was
    registered: dict[str, str] = {"RUN_KEY": "sk-run"}
    register("researcher", Endpoint("served", "http://127.0.0.1:9/v1", "RUN_KEY"), registered)
    for name, value in registered.items():  # as the run registers it, undone after the test
        monkeypatch.setenv(name, value)
    for gpus in (0, 1):  # the CPU path and the GPU path
        _scheduler(calls, gpus).execute(request, None)
        env = calls[-1]["runtime_env"]["env_vars"]
        assert env["RUN_KEY"] == "sk-run" and resolve("researcher", env).base_url == "http://127.0.0.1:9/v1"
        assert calls[-1]["max_calls"] == 0  # the task's own options are kept
