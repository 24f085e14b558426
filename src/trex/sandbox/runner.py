"""A sandbox for code that an LLM wrote (custom filters, scripts): run it where it can do little harm.

Every run gets its own fresh working folder, a scrubbed environment (``PATH`` and ``HOME`` only: no
API keys), limits on CPU time, address space, processes, file size and wall-clock time, and the
standard library only (``python -I -S``: no site-packages, no user site, no ``PYTHON*`` variables).
A harness runs the code under a Python audit hook (a tripwire). Three modes; ``mode="auto"`` takes
the first this machine has:

``bwrap`` (bubblewrap is on PATH and user namespaces work):
  - protects: the network (a new, empty network namespace), every file outside the working folder
    (only ``/usr`` and the interpreter are mounted, read-only; ``/tmp`` is a private tmpfs), other
    processes (new PID, IPC and UTS namespaces; everything dies with the sandbox), the environment;
    plus the seccomp filter of ``landlock`` mode (no exec, no fork).
  - when trex runs as root, the code runs as ``nobody`` (uid 65534) with the system ``/usr/bin/python3``,
    so the process limit holds (the kernel exempts root from it) and nothing of root's is readable.

``landlock`` (no bubblewrap; a kernel with Landlock and libseccomp, no root needed; ``trex.sandbox.kernel``):
  - protects: files (Landlock: read and execute only the interpreter's folders, read and write only
    inside the working folder; no links, renames or symlinks out of it, no FIFOs or devices;
    ``/etc/passwd`` and other workspaces are unreadable), programs and processes (seccomp: no exec,
    fork or non-thread clone, even through ``_posixsubprocess``), the network (seccomp: no Internet,
    raw, netlink or Unix sockets; as root also a new network namespace), the environment and the rlimits.

``process`` (neither): the weak mode. Only the rlimits, the scrubbed environment and the audit hook
  stand; native code (``_posixsubprocess.fork_exec``, a C extension) walks past the hook, so exec,
  fork, FIFOs (``os.mkfifo`` raises no audit event), and through native code the user's files and
  (unless root) the network are NOT protected. ``auto`` never
  picks it: a Sandbox refuses to start (``SandboxError``) unless ``allow_weak=True`` or the
  environment has ``TREX_ALLOW_WEAK_SANDBOX=1``, which ``trex run --allow-weak-sandbox`` sets.

No mode protects against a kernel exploit, or CPU and memory bandwidth beyond the rlimits; none is a VM.

Results: ``run`` returns a ``SandboxResult`` (exit code, bounded stdout/stderr, and the reason it
was stopped: ``wall_clock``, ``cpu``, ``memory`` or ``error``); ``map_rows`` applies a function of
the code to rows (JSON in, JSON out) and raises ``SandboxError`` with the reason on failure.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from trex.sandbox.kernel import (
    apply_landlock,
    bwrap_available,
    kernel_walls_available,
    landlock_ruleset,
    readable_roots,
    seccomp_program,
)

Mode = Literal["auto", "bwrap", "landlock", "process"]
WEAK_ENV = "TREX_ALLOW_WEAK_SANDBOX"
FILTER_FILE = "seccomp.bpf"
WEAK_WARNING = (
    "no bubblewrap and no Landlock/seccomp here: the weak process sandbox cannot stop native code from "
    "starting programs, reading your files or (unless root) using the network"
)
NOBODY = 65534
SYSTEM_PYTHON = Path("/usr/bin/python3")
HARNESS = "harness.py"
CLONE_NEWNET = 0x40000000


def code_refusal() -> str | None:
    """Why this machine refuses LLM-written code (no strong mode and the weak one not allowed), or None."""
    if os.environ.get(WEAK_ENV) == "1" or kernel_walls_available() or bwrap_available():
        return None
    return f"{WEAK_WARNING}. Install bubblewrap, or pass --allow-weak-sandbox to accept that"


class SandboxError(RuntimeError):
    """Sandboxed code failed or was stopped; the message says why (and the end of its stderr)."""


class SandboxLimits(BaseModel):
    cpu_seconds: int = Field(default=30, ge=1)
    memory_mb: int = Field(default=1024, ge=64, description="address space per process")
    wall_seconds: float = Field(default=60.0, gt=0)
    processes: int = Field(default=32, ge=1, description="processes the sandbox user may have at once")
    file_mb: int = Field(default=64, ge=1, description="largest file the code may write")
    output_bytes: int = Field(default=1_000_000, ge=1000, description="stdout/stderr kept, each")


class SandboxResult(BaseModel):
    ok: bool
    returncode: int | None
    stdout: str
    stderr: str
    reason: Literal["wall_clock", "cpu", "memory", "error"] | None = None
    mode: Literal["bwrap", "landlock", "process"]
    seconds: float


def _drop_to_nobody() -> bool:
    """Run sandboxed code as nobody when trex is root and a Python outside root's home exists."""
    return os.geteuid() == 0 and SYSTEM_PYTHON.exists()


def _interpreter() -> str:
    return str(SYSTEM_PYTHON) if _drop_to_nobody() else str(Path(sys.base_prefix) / "bin" / Path(sys.executable).name)


def _nproc_limit(limits: SandboxLimits) -> int:
    """RLIMIT_NPROC counts all processes of the user: allow what the sandbox user already has, plus the limit."""
    uid = NOBODY if _drop_to_nobody() else os.getuid()
    try:
        owned = sum(1 for p in Path("/proc").iterdir() if p.name.isdigit() and p.stat().st_uid == uid)
    except OSError:
        owned = 0
    return owned + limits.processes


def _preexec(limits: SandboxLimits, new_netns: bool, nproc: int, ruleset: Any = None) -> Any:  # noqa: ANN401
    def apply() -> None:
        os.setsid()
        if new_netns:  # root only: the code gets a network namespace with nothing in it
            ctypes.CDLL(None, use_errno=True).unshare(CLONE_NEWNET)
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_mb << 20, limits.memory_mb << 20))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_mb << 20, limits.file_mb << 20))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if ruleset is not None:  # Landlock: from here on, this process and the interpreter it becomes
            apply_landlock(ruleset)
        if _drop_to_nobody():
            os.setgroups([])
            os.setresgid(NOBODY, NOBODY, NOBODY)
            os.setresuid(NOBODY, NOBODY, NOBODY)
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))

    return apply


class Sandbox:
    def __init__(self, limits: SandboxLimits | None = None, mode: Mode = "auto", allow_weak: bool = False) -> None:
        self.limits = limits or SandboxLimits()
        self.tripwire = True  # the audit hook; tests turn it off to attack the kernel walls alone
        walls = kernel_walls_available()
        if mode == "auto":
            mode = "bwrap" if bwrap_available() else "landlock" if walls else "process"
            if mode == "process" and not (allow_weak or os.environ.get(WEAK_ENV) == "1"):
                raise SandboxError(f"refusing to run LLM-written code: {code_refusal() or WEAK_WARNING}")
        elif mode == "bwrap" and not bwrap_available():
            raise SandboxError("mode 'bwrap' asked for, but bubblewrap is missing or cannot create namespaces")
        elif mode == "landlock" and not walls:
            raise SandboxError("mode 'landlock' asked for, but this kernel has no Landlock or libseccomp is missing")
        self.mode: Literal["bwrap", "landlock", "process"] = mode
        self.seccomp = seccomp_program() if mode != "process" and walls else None

    def _command(self, workdir: Path, argv: list[str]) -> list[str]:
        python = _interpreter()
        if self.mode != "bwrap":
            return [python, "-I", "-S", *argv]
        mounts = ["--ro-bind", "/usr", "/usr"]
        for name in ("bin", "sbin", "lib", "lib32", "lib64"):
            path = Path("/") / name
            if path.is_symlink():
                mounts += ["--symlink", os.readlink(path), str(path)]
            elif path.exists():
                mounts += ["--ro-bind", str(path), str(path)]
        prefix = str(Path(python).resolve().parent.parent)
        if not prefix.startswith("/usr"):
            mounts += ["--ro-bind", prefix, prefix]
        return [
            "bwrap",
            *mounts,
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--tmpfs",
            "/tmp",
            "--bind",
            str(workdir),
            "/sandbox",
            "--chdir",
            "/sandbox",
            "--unshare-all",
            "--die-with-parent",
            "--new-session",
            "--clearenv",
            "--setenv",
            "PATH",
            "/usr/bin:/bin",
            "--setenv",
            "HOME",
            "/sandbox",
            *([] if self.tripwire else ["--setenv", "TREX_SANDBOX_TRIPWIRE", "0"]),
            python,
            "-I",
            "-S",
            *argv,
        ]

    def run(self, code: str, files: dict[str, str] | None = None) -> SandboxResult:
        """Run ``code`` as a script in a fresh working folder holding ``files`` (name -> text)."""
        folder = Path(tempfile.mkdtemp(prefix="trex-sandbox-"))
        try:
            return self._run({**(files or {}), "main.py": code}, "main.py", folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def map_rows(self, code: str, function: str, rows: list[dict[str, Any]]) -> list[Any]:
        """``function(row)`` of ``code`` for every row, computed in the sandbox (rows and results as JSON)."""
        driver = (
            "import json\n"
            f"from user_code import {function} as _fn\n"
            "with open('rows.jsonl', encoding='utf-8') as _f:\n"
            "    _out = [_fn(json.loads(_line)) for _line in _f]\n"
            "with open('results.json', 'w', encoding='utf-8') as _o:\n"
            "    json.dump(_out, _o)\n"
        )
        files = {
            "user_code.py": code,
            "driver.py": driver,
            "rows.jsonl": "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows),
        }
        folder = Path(tempfile.mkdtemp(prefix="trex-sandbox-"))
        try:
            result = self._run(files, "driver.py", folder)
            if not result.ok:
                tail = result.stderr.strip().splitlines()[-3:]
                raise SandboxError(f"sandboxed code stopped ({result.reason}): {' | '.join(tail)}")
            try:
                values = json.loads((folder / "results.json").read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise SandboxError(f"sandboxed code wrote no readable results: {exc}") from exc
            if len(values) != len(rows):
                raise SandboxError(f"sandboxed code returned {len(values)} results for {len(rows)} rows")
            return values
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _run(self, files: dict[str, str], entry: str, folder: Path) -> SandboxResult:
        harness = resources.files("trex.sandbox").joinpath("harness.py").read_text(encoding="utf-8")
        for name, text in {**files, HARNESS: harness}.items():
            (folder / name).write_text(text, encoding="utf-8")
        if self.seccomp is not None:
            (folder / FILTER_FILE).write_bytes(self.seccomp)
        if _drop_to_nobody():  # the sandbox user must write its own private folder, and nothing else of ours
            os.chmod(folder, 0o777)  # noqa: S103
            for path in folder.iterdir():
                os.chmod(path, 0o666)
        inside = "/sandbox" if self.mode == "bwrap" else str(folder)
        env = {"PATH": "/usr/bin:/bin", "HOME": inside, "LANG": "C.UTF-8"}
        if not self.tripwire:
            env["TREX_SANDBOX_TRIPWIRE"] = "0"
        argv = [f"{inside}/{HARNESS}", inside, entry, *([FILTER_FILE] if self.seccomp is not None else [])]
        command = self._command(folder, argv)
        start = time.perf_counter()
        new_netns = self.mode != "bwrap" and os.geteuid() == 0
        ruleset = landlock_ruleset(folder, readable_roots(_interpreter())) if self.mode == "landlock" else None
        try:
            proc = subprocess.Popen(
                command,
                cwd=folder,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                preexec_fn=_preexec(self.limits, new_netns, _nproc_limit(self.limits), ruleset),
            )
        finally:
            if ruleset is not None:
                os.close(ruleset._fd)  # the child holds its own copy until it applies it
        reason = None
        try:
            stdout, stderr = proc.communicate(timeout=self.limits.wall_seconds)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, stderr = proc.communicate()
            reason = "wall_clock"
        seconds = time.perf_counter() - start
        out = stdout[-self.limits.output_bytes :].decode("utf-8", "replace")
        err = stderr[-self.limits.output_bytes :].decode("utf-8", "replace")
        code = proc.returncode
        if reason is None and code != 0:
            if code in (-signal.SIGXCPU, -signal.SIGKILL, 128 + signal.SIGKILL, 128 + signal.SIGXCPU):
                reason = "cpu"
            elif "MemoryError" in err:
                reason = "memory"
            else:
                reason = "error"
        return SandboxResult(
            ok=reason is None, returncode=code, stdout=out, stderr=err, reason=reason, mode=self.mode, seconds=seconds
        )
