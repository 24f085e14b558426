"""SIGKILL the run in the middle of a job, resume: the tree is intact and no finished job runs again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.test_cli import job_starts, trex
from tests.conftest import TINY_TASK
from trex.runtime.worker import RESULT_FILE, START_MARKER

pytestmark = pytest.mark.slow


def _running_job(ws: Path) -> Path | None:
    """A job folder whose worker has started its job (past the imports) and not finished."""
    for log in ws.glob("nodes/*/jobs/*/log.txt"):
        if not (log.parent / RESULT_FILE).exists() and START_MARKER in log.read_text():
            return log.parent
    return None


def _children(pid: int) -> list[int]:
    """Live child processes of ``pid`` (Linux /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return f"pid {pid}"


def test_sigkill_mid_job_then_resume(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    proc = subprocess.Popen(
        [sys.executable, "-m", "trex", "run", str(TINY_TASK), "--workspace", str(ws), "--iterations", "3"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 600
    victim = None
    while time.monotonic() < deadline:
        finished = list(ws.glob(f"nodes/*/jobs/*/{RESULT_FILE}"))
        victim = _running_job(ws) if len(finished) >= 4 else None
        if victim is not None:
            break
        time.sleep(0.2)
    assert victim is not None, "the run never reached a fifth job"
    workers = _children(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    finished_at_kill = (victim / RESULT_FILE).exists()  # rare: the job ended just before the kill
    time.sleep(2)
    assert finished_at_kill or workers, "no worker was running at the kill"
    survivors = [_cmdline(pid) for pid in workers if _alive(pid)]
    assert not survivors, f"outlived the killed run by 2 s: {survivors}"
    done_before = {p.parent.name for p in ws.glob(f"nodes/*/jobs/*/{RESULT_FILE}")}
    starts_before = job_starts(ws)

    out = trex("resume", str(ws))
    assert out.returncode == 0, out.stderr
    starts = job_starts(ws)
    assert all(starts[h] == starts_before[h] == 1 for h in done_before)  # finished jobs never ran again
    assert starts[victim.name] == (1 if finished_at_kill else 2)  # the killed job ran again, once

    status = json.loads(trex("status", str(ws), "--json").stdout)
    assert [n["id"] for n in status["nodes"]] == [1, 2, 3]  # reached its iteration count
    assert all(n["status"] in ("done", "failed") for n in status["nodes"])
    assert status["nodes"][0]["visits"] == 3  # backpropagation survived the kill
