"""Warm job processes: a job forked from the preloaded fork server is the same job as a cold one, dies with the run,
and never runs under an environment other than the run's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trex.agents.heuristic.researcher import base_recipe
from trex.runtime import warm
from trex.runtime.base import JOB_FILE, LOG_FILE, RUNNING_FILE, run_worker
from trex.runtime.job import Job, JobRequest
from trex.runtime.worker import RESULT_FILE, START_MARKER

pytestmark = pytest.mark.slow


def _job(task, steps: int = 2) -> Job:
    train = task.training.model_copy(update={"max_steps": steps})
    return Job(base_model=task.base_model, recipe=base_recipe(task, 16, seed=0), train=train, eval=task.eval)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")  # a zombie waits for a reaper that is not ours: it runs nothing


def test_a_warm_job_equals_a_cold_one_and_a_changed_environment_starts_cold(tiny_task, tmp_path: Path, monkeypatch):
    job = _job(tiny_task)
    hot = run_worker(JobRequest(job=job, workdir=str(tmp_path / "warm")), gpu=None, timeout_s=600, warm=True)
    cold = run_worker(JobRequest(job=job, workdir=str(tmp_path / "cold")), gpu=None, timeout_s=600)
    assert cold.status == hot.status == "ok", (cold.error, hot.error)
    assert hot.train.losses == cold.train.losses and hot.validation.score == cold.validation.score
    pid = json.loads((tmp_path / "warm" / RUNNING_FILE).read_text())["pid"]
    assert pid != os.getpid() and START_MARKER in (tmp_path / "warm" / LOG_FILE).read_text()

    # the fork server has this process's environment; a job under another one cannot start warm
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    assert warm.start(str(tmp_path / "x" / JOB_FILE), str(tmp_path / "x.log"), dict(env, TREX_TEST_VAR="1")) is None
    monkeypatch.setenv("TREX_TEST_VAR", "1")  # run_worker then runs it cold, and it still succeeds
    again = run_worker(JobRequest(job=job, workdir=str(tmp_path / "changed")), gpu=None, timeout_s=600, warm=True)
    assert again.status == "ok" and again.train.losses == cold.train.losses


def test_a_warm_job_is_cancelled_and_dies_with_the_run(tiny_task, tmp_path: Path) -> None:
    long_job = _job(tiny_task, steps=100_000)  # trains until 85% of its 600 s timeout
    request = JobRequest(job=long_job, workdir=str(tmp_path / "t"))
    timed = run_worker(request, gpu=None, timeout_s=600, deadline=time.time() + 15, warm=True)
    assert timed.status == "failed" and timed.error_class == "cancelled"  # the run's deadline took it down
    assert not _alive(json.loads((tmp_path / "t" / RUNNING_FILE).read_text())["pid"])

    # a run's process that starts the job warm, SIGKILLed while the job trains: the job goes with it
    workdir = tmp_path / "killed"
    script = (
        "import sys\nfrom trex.runtime.base import run_worker\nfrom trex.runtime.job import JobRequest\n"
        "run_worker(JobRequest.model_validate_json(sys.argv[1]), None, 600, warm=True)\n"
    )
    request = JobRequest(job=long_job, workdir=str(workdir)).model_dump_json()
    runner = subprocess.Popen([sys.executable, "-c", script, request])
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and "'loss'" not in _read(workdir / LOG_FILE):  # training has begun
        time.sleep(0.2)
    pid = json.loads((workdir / RUNNING_FILE).read_text())["pid"]
    assert _alive(pid)
    runner.send_signal(signal.SIGKILL)
    runner.wait()
    deadline = time.monotonic() + 30
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(pid)
    assert not (workdir / RESULT_FILE).exists()


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""
