"""The scheduler contract and the one way a job runs: ``run_worker`` runs the worker in a process of its own.

Every scheduler (``local``, ``ray``, ``slurm``; this module imports none of them) runs JobRequests
through ``run_worker``: a cold ``python -m trex.runtime.worker``, or, for a CPU job of the local scheduler, a
warm child of a fork server that imported the worker's libraries once (``trex.runtime.warm``). The loop keeps
several nodes in flight, so a scheduler is asynchronous:
``submit`` hands it a job and returns at once, ``wait`` returns the jobs that finished since (as
they finish, whichever node they belong to). ``run`` is the blocking form for one batch.
``slots`` is how many jobs run at once (GPUs / GPUs per job; 1 on a CPU-only machine) and
``gpus_in_use(n)`` how many GPUs n jobs in flight hold: what the GPU-hour deadline divides by.
Guarantees: a job's stdout/stderr go to its ``log.txt``; the worker writes ``running.json``
(the GPU it holds, its start time, its process id) when it starts; a timeout kills the job's whole process group
and gives a ``timeout`` result (its training is fitted to end well before: ``TRAIN_SHARE``); a worker
that dies without writing result.json gives a ``crash`` result (``oom`` when it was killed by SIGKILL, the
usual OOM-killer signal). The loop's process
never imports torch on their behalf. A scheduler never runs two jobs on one slot at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from trex.runtime import warm as warm_process
from trex.runtime.job import JobRequest, JobResult, train_reserve
from trex.runtime.worker import RESULT_FILE, die_with_parent, write_atomic

JOB_FILE = "job.json"
LOG_FILE = "log.txt"
RUNNING_FILE = "running.json"  # {"gpu": CUDA_VISIBLE_DEVICES or null, "started": epoch seconds}
OnDone = Callable[[JobRequest, JobResult], None]
Finished = list[tuple[JobRequest, JobResult]]


class Scheduler(Protocol):
    @property
    def slots(self) -> int: ...

    def gpus_in_use(self, jobs_in_flight: int) -> int: ...

    def submit(self, request: JobRequest, deadline: float | None = None) -> None: ...

    def wait(self, timeout: float | None = None) -> Finished: ...

    def run(self, requests: Sequence[JobRequest], on_done: OnDone, deadline: float | None = None) -> None: ...


class ThreadedScheduler:
    """``submit``/``wait``/``run`` over a blocking ``execute(request, deadline)``: one thread per submitted
    job, which blocks in ``execute`` (waiting for a slot, a Ray task or a Slurm job) and queues its result.
    A subclass implements ``execute`` and ``slots``; ``gpus_per_job`` says what one job holds."""

    gpus_per_job: int = 1

    def __init__(self) -> None:
        self._done: queue.Queue[tuple[JobRequest, JobResult]] = queue.Queue()
        self._held: dict[int, int] = {}  # id of a submitted request -> the GPUs it holds, until it finishes

    @property
    def slots(self) -> int:
        return 1

    @property
    def parallel_gpus(self) -> int:
        """GPUs held when every slot is busy (0 on CPU)."""
        return self.gpus_in_use(self.slots)

    def gpus_of(self, request: JobRequest) -> int:
        """The GPUs a job holds: what its config asks for (``gpus``, at most the machine's), else ``gpus_per_job``."""
        train = request.job.train
        asked = train.gpus if self.gpus_per_job and train is not None and train.gpus else self.gpus_per_job
        return min(asked, self.slots * self.gpus_per_job)

    def gpus_in_use(self, jobs_in_flight: int) -> int:
        """GPUs held by ``jobs_in_flight`` jobs (what the GPU-hour deadline divides by): each submitted job its own
        count (``gpus_of``: a config may ask for several), a job not yet submitted ``gpus_per_job``."""
        held = sorted(getattr(self, "_held", {}).values(), reverse=True)[:jobs_in_flight]
        return sum(held) + min(max(0, jobs_in_flight - len(held)), self.slots) * self.gpus_per_job

    def execute(self, request: JobRequest, deadline: float | None) -> JobResult:
        raise NotImplementedError

    def submit(self, request: JobRequest, deadline: float | None = None) -> None:
        held = self.__dict__.setdefault("_held", {})
        held[id(request)] = self.gpus_of(request)

        def one() -> None:
            try:
                result = self.execute(request, deadline)
            except Exception as exc:  # noqa: BLE001 - a scheduler failure is the job's failure, never a lost job
                error = f"scheduler failed: {type(exc).__name__}: {exc}"[:2000]
                result = JobResult.failure(request.job.content_hash(), error, "crash")
            held.pop(id(request), None)
            self._done.put((request, result))

        threading.Thread(target=one, daemon=True, name=f"job-{request.job.content_hash()[:8]}").start()

    def wait(self, timeout: float | None = None) -> Finished:
        """The jobs that finished: blocks up to ``timeout`` seconds for the first (None: until one finishes)."""
        try:
            out = [self._done.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                out.append(self._done.get_nowait())
            except queue.Empty:
                return out

    def run(self, requests: Sequence[JobRequest], on_done: OnDone, deadline: float | None = None) -> None:
        """Run a batch and call ``on_done`` for each job as it finishes, in this thread."""
        for request in requests:
            self.submit(request, deadline)
        left = len(requests)
        while left:
            for request, result in self.wait(None):
                on_done(request, result)
                left -= 1


def visible_gpus() -> list[str]:
    """GPU ids this process may hand out, without importing torch."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g for g in env.split(",") if g.strip() and g.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU ")]


def _start(workdir: Path, env: dict[str, str], cold: bool) -> subprocess.Popen | warm_process.WarmProcess | None:
    """The job's process: a cold ``python -m trex.runtime.worker``, or a warm child (None: it cannot start warm)."""
    if not cold:
        return warm_process.start(str(workdir / JOB_FILE), str(workdir / LOG_FILE), env)
    with (workdir / LOG_FILE).open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "trex.runtime.worker", str(workdir / JOB_FILE)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )


def _kill(proc: subprocess.Popen | warm_process.WarmProcess) -> None:
    """SIGKILL the job's process group (the process alone if it has not made its group yet), and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def run_worker(
    request: JobRequest, gpu: str | None, timeout_s: float, deadline: float | None = None, warm: bool = False
) -> JobResult:
    """Run one job in a fresh worker process group and read its result.

    ``warm``: a CPU job (``gpu`` None) starts as a child of a fork server that has imported the worker's
    libraries once (``trex.runtime.warm``); otherwise, or when it cannot, a cold ``python -m trex.runtime.worker``.

    The job is killed after ``timeout_s`` (a ``timeout`` failure) or at the epoch time ``deadline``
    of the run's budget, whichever comes first (a ``cancelled`` result, which callers do not record).
    Its training is told to end by ``TRAIN_SHARE`` of the timeout, or what the run measured its scoring and saving
    to need before the timeout (``JobRequest.after_train_s``, ``train_reserve``), or by the request's
    own ``train_until`` when that is sooner (the run's budget): a machine slower than planned gives a shorter run,
    which still scores and saves, instead of a timeout or a cancellation.
    """
    gpus = len(gpu.split(",")) if gpu else 0
    budget_s = deadline - time.time() if deadline is not None else float("inf")
    wait_s = min(timeout_s, max(0.0, budget_s))
    if budget_s <= 0:  # the budget ran out while the job waited for a slot: never start it
        return JobResult.failure(request.job.content_hash(), "cancelled before it started: budget spent", "cancelled")
    workdir = Path(request.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    until = time.time() + timeout_s - train_reserve(timeout_s, request.after_train_s)
    if request.train_until is not None:  # the run's budget may end first (trex.run.budget.train_deadline)
        until = min(until, request.train_until)
    request = request.model_copy(update={"train_until": until})
    result_path = workdir / RESULT_FILE
    result_path.unlink(missing_ok=True)
    write_atomic(workdir / JOB_FILE, request.model_dump_json(indent=1))
    env = dict(os.environ, CUDA_VISIBLE_DEVICES=gpu if gpu is not None else "", PYTHONUNBUFFERED="1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    env.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    job_hash = request.job.content_hash()
    started = time.time()
    start = time.perf_counter()
    code = None
    for cold in (not warm or gpu is not None, True):  # a warm child that finds itself stale exits at once
        proc = _start(workdir, env, cold)
        if proc is None:
            continue
        write_atomic(workdir / RUNNING_FILE, json.dumps({"gpu": gpu, "started": started, "pid": proc.pid}))
        try:
            code = proc.wait(timeout=max(0.0, wait_s - (time.perf_counter() - start)))
        except subprocess.TimeoutExpired:
            _kill(proc)
            if wait_s < timeout_s:
                result = JobResult.failure(
                    job_hash, "cancelled: the run's budget and grace period ran out", "cancelled"
                )
            else:
                result = JobResult.failure(job_hash, f"timed out after {timeout_s:.0f} s", "timeout", timeout_s)
            return result.model_copy(update={"seconds": time.perf_counter() - start, "gpus": gpus, "gpu_ids": gpu})
        finally:
            if proc.poll() is None:  # the loop itself is being interrupted: take the job down with it
                _kill(proc)
        if cold or code != warm_process.STALE:
            break
    seconds = time.perf_counter() - start
    if result_path.exists():
        result = JobResult.model_validate_json(result_path.read_text(encoding="utf-8"))
    elif code == -signal.SIGKILL:
        result = JobResult.failure(job_hash, "worker killed by SIGKILL (likely out of memory)", "oom", seconds)
    else:
        result = JobResult.failure(
            job_hash, f"worker exited with code {code} without a result; see {LOG_FILE}", "crash", seconds
        )
    return result.model_copy(update={"gpus": gpus, "gpu_ids": gpu})
