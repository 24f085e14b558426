"""Warm job processes: a fork server that has imported the worker's libraries forks one fresh child per job.

A cold ``python -m trex.runtime.worker`` first imports torch, transformers, TRL, PEFT and datasets, which on a
slow machine costs more than a tiny job's work (docs/benchmarks/warm-workers.md).
``start`` runs the job in a child of a fork server instead (``serve``, in a process of its own, one per run's
process, started at its first warm job), which has imported ``trex.runtime.worker`` once. The job still gets a
process of its own, forked from a single-threaded parent that runs no job itself, so a crash, an OOM kill or
a timeout takes down only that job. (Not multiprocessing's forkserver: its children re-run the parent's main
script before the job.)

Guarantees, the same as a cold worker's (``trex.runtime.base.run_worker``):
- the child leads a session of its own, so the scheduler kills its whole process group; it gets SIGKILL when
  the fork server dies (PR_SET_PDEATHSIG), and the fork server kills its children and exits when its stdin
  closes, that is when the run's process dies, so a killed run leaves no job behind;
- stdout and stderr go to the job's log; its exit status is the worker's (negative: the signal that killed it);
- its environment is the run's at the time of the job: the per-job variables (``PER_JOB``) are set in the
  child, and a job whose other variables differ from those the fork server started with (a library may have
  read them at import) is not started warm: ``start`` returns None and the caller starts a cold process.
  A child that finds CUDA initialized in its parent exits with ``STALE`` before the job starts, and the
  caller runs it cold;
- GPU jobs are never started warm (``run_worker`` decides): CUDA state does not survive a fork, and a
  preloaded torch may cache a device count made under another ``CUDA_VISIBLE_DEVICES``. Measured on CPU only.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from typing import TextIO

# set per job by run_worker; every other variable must equal the fork server's for a job to start warm
PER_JOB = frozenset(
    {
        "CUDA_VISIBLE_DEVICES",
        "PYTHONUNBUFFERED",
        "TOKENIZERS_PARALLELISM",
        "HF_DATASETS_DISABLE_PROGRESS_BARS",
        "HF_HUB_DISABLE_PROGRESS_BARS",
    }
)
STALE = 75  # EX_TEMPFAIL: the child did not start the job; run it in a cold process
DISABLE = "TREX_COLD_WORKERS"  # set to 1: every job starts a cold process


def _shared(env: Mapping[str, str]) -> dict[str, str]:
    return {key: value for key, value in env.items() if key not in PER_JOB}


class _Server:
    """The run's side of one fork server: requests go down its stdin, pids and exit codes come up its stdout."""

    def __init__(self) -> None:
        self.env = _shared(os.environ)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from trex.runtime.warm import serve; serve()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,  # a Ctrl-C of the run reaches it through its stdin closing, not the signal
        )
        self.codes: dict[int, int] = {}
        self.started: list[int] = []
        self.changed = threading.Condition()
        self.starting = threading.Lock()  # one request at a time: pids come back in the order asked
        self.alive = True
        threading.Thread(target=self._read, daemon=True, name="trex-warm-server").start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            message = json.loads(line)
            with self.changed:
                if "code" in message:
                    self.codes[message["pid"]] = message["code"]
                else:
                    self.started.append(message["pid"])
                self.changed.notify_all()
        with self.changed:  # the server died: its children died with it (their death signal)
            self.alive = False
            self.changed.notify_all()

    def start(self, job_file: str, log_file: str, env: Mapping[str, str]) -> int | None:
        assert self.proc.stdin is not None
        with self.starting, self.changed:
            try:
                self.proc.stdin.write(json.dumps({"job": job_file, "log": log_file, "env": dict(env)}) + "\n")
                self.proc.stdin.flush()
            except OSError:
                return None
            self.changed.wait_for(lambda: self.started or not self.alive)
            return self.started.pop(0) if self.started else None

    def wait(self, pid: int, timeout: float | None) -> int | None:
        with self.changed:
            self.changed.wait_for(lambda: pid in self.codes or not self.alive, timeout)
            if pid in self.codes:
                return self.codes[pid]
            return None if self.alive else -signal.SIGKILL


_lock = threading.Lock()
_server: _Server | None = None


class WarmProcess:
    """A started warm child, with the part of ``subprocess.Popen``'s interface that ``run_worker`` uses."""

    def __init__(self, server: _Server, pid: int) -> None:
        self._server, self.pid = server, pid

    def poll(self) -> int | None:
        return self._server.wait(self.pid, 0)

    def wait(self, timeout: float | None = None) -> int:
        code = self._server.wait(self.pid, timeout)
        if code is None:
            raise subprocess.TimeoutExpired(["trex.runtime.warm", str(self.pid)], timeout or 0.0)
        return code


def start(job_file: str, log_file: str, env: Mapping[str, str]) -> WarmProcess | None:
    """Start the worker on ``job_file`` in a warm child; None when it must start cold (warm disabled, the
    environment changed since the fork server started, or the fork server is gone)."""
    global _server
    if env.get(DISABLE) == "1" or not hasattr(os, "fork"):
        return None
    with _lock:
        if _server is None or not _server.alive:
            _server = _Server()
        server = _server
    if server.env != _shared(env):
        return None
    pid = server.start(job_file, log_file, env)
    return WarmProcess(server, pid) if pid is not None else None


def _child(request: dict) -> int:
    """In a forked child of the server: become a job process (session, death signal, log, environment), run it."""
    from trex.runtime.worker import die_with_parent

    os.setsid()
    die_with_parent()
    fd = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    with contextlib.suppress(OSError):
        os.close(0)
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        return STALE
    for key in PER_JOB:
        os.environ.pop(key, None)
        if key in request["env"]:
            os.environ[key] = request["env"][key]
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 (the job's log, line by line)
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    from trex.runtime.worker import main

    return main([request["job"]])


def serve() -> None:
    """The fork server's loop: a child per request line on stdin, its pid and later its exit code on stdout; when
    stdin closes (the run's process is gone) it kills its children and exits at once."""
    import trex.runtime.worker  # noqa: F401 (with its package: the imports every job would pay)

    children: set[int] = set()
    out, pending = sys.stdout, b""
    while True:
        readable, _, _ = select.select([0], [], [], 0.2)
        for pid, status in _reap(children):
            out.write(json.dumps({"pid": pid, "code": os.waitstatus_to_exitcode(status)}) + "\n")
            out.flush()
        if not readable:
            continue
        chunk = os.read(0, 1 << 20)
        if not chunk:  # the run's process is gone: take its jobs down with it
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
            # no interpreter shutdown: with torch imported it takes 1.6 s on a quiet 2-core VM, and longer
            # under load, while the server outlives the run it served; it has nothing left to flush or save
            os._exit(0)
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            _fork(json.loads(line), children, out)


def _fork(request: dict, children: set[int], out: TextIO) -> None:
    """Fork the child for one request; tell the run its pid."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = _child(request)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # noqa: BLE001 (the child must never return into the server's loop)
            import traceback

            traceback.print_exc()
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)
    children.add(pid)
    out.write(json.dumps({"pid": pid}) + "\n")
    out.flush()


def _reap(children: set[int]) -> list[tuple[int, int]]:
    done = []
    for pid in list(children):
        with contextlib.suppress(ChildProcessError):
            reaped, status = os.waitpid(pid, os.WNOHANG)
            if reaped:
                children.discard(pid)
                done.append((pid, status))
    return done
