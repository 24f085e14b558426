"""SIGKILL the run in the middle of a job, resume: the tree is intact and no finished job runs again; with two
nodes in flight at each kill (the FakeScheduler's slots, ``tests/run/fake_run.py``), nothing is lost or run twice."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.test_cli import job_starts, trex
from tests.conftest import TINY_TASK
from trex.runtime.base import RUNNING_FILE
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


ROOT = Path(__file__).resolve().parents[2]
FAKE_KILLS = 3
FAKE_NODES = 9


def _in_flight(ws: Path, since: float) -> dict[int, set[str]]:
    """Nodes running in the store with jobs that hold a slot since ``since`` (their ``running.json``) and have no
    result yet: node -> those jobs."""
    if not (ws / "trex.db").exists():
        return {}
    try:
        conn = sqlite3.connect(f"file:{ws / 'trex.db'}?mode=ro", uri=True, timeout=5)
        rows = conn.execute(
            "SELECT n.id, j.hash FROM nodes n JOIN node_jobs nj ON nj.node_id = n.id JOIN jobs j ON j.hash = nj.hash"
            " WHERE n.status = 'running' AND j.result IS NULL"
        ).fetchall()
        conn.close()
    except sqlite3.Error:
        return {}
    flying: dict[int, set[str]] = {}
    for node_id, job_hash in rows:
        try:
            running = json.loads((ws / "nodes" / str(node_id) / "jobs" / job_hash / RUNNING_FILE).read_text())
        except (OSError, ValueError):
            continue  # waiting for a slot, or the file half-written
        if running["started"] >= since:
            flying.setdefault(node_id, set()).add(job_hash)
    return flying


def _finished(ws: Path) -> set[str]:
    conn = sqlite3.connect(ws / "trex.db")
    done = {row[0] for row in conn.execute("SELECT hash FROM jobs WHERE result IS NOT NULL")}
    conn.close()
    return done


def _starts(path: Path) -> list[tuple[str, int]]:
    lines = path.read_text().splitlines() if path.exists() else []
    return [(entry["hash"], entry["pid"]) for entry in map(json.loads, lines)]


def test_kills_land_with_two_nodes_in_flight_then_resume_loses_and_repeats_nothing(tmp_path: Path) -> None:
    """Each SIGKILL lands while two nodes hold slots (FakeScheduler, 4 logical GPUs, --parallel-nodes 2), checked
    in the store after the kill; each session's kill waits for a node the previous kill had not seen in flight."""
    ws, log = tmp_path / "ws", tmp_path / "starts.jsonl"
    command = [sys.executable, "-m", "tests.run.fake_run", str(ws), str(log), str(FAKE_NODES)]
    seen: set[int] = set()
    done_at_kill: list[set[str]] = []
    flying_at_kill: list[set[str]] = []
    for kill in range(FAKE_KILLS):
        since, errors = time.time(), tmp_path / f"session{kill}.err"
        with errors.open("w") as stderr:  # a file, not a pipe: a full pipe would stall the session
            proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr)
        deadline, flying = time.monotonic() + 300, {}
        while proc.poll() is None and time.monotonic() < deadline:
            flying = _in_flight(ws, since)
            if len(flying) >= 2 and set(flying) - seen:
                break
            time.sleep(0.02)
        assert proc.poll() is None, f"the session ended before two nodes were in flight: {errors.read_text()[-2000:]}"
        assert len(flying) >= 2, "two nodes never were in flight"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # what the store holds after the kill is what it held at the kill: two of the nodes seen were still in flight
        still = _in_flight(ws, since)
        assert len(set(still) & set(flying)) >= 2, (flying, still)
        seen |= set(still)
        done_at_kill.append(_finished(ws))
        flying_at_kill.append(set().union(*still.values()))

    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    conn = sqlite3.connect(ws / "trex.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    nodes = conn.execute("SELECT id, status FROM nodes ORDER BY id").fetchall()
    assert [n for n, _ in nodes] == list(range(1, FAKE_NODES + 1))  # the target, no node lost or doubled
    assert all(status in ("done", "failed") for _, status in nodes)
    finished = [
        row[0] for row in conn.execute("SELECT json_extract(data, '$.hash') FROM events WHERE kind = 'job_finished'")
    ]
    conn.close()
    assert finished and len(finished) == len(set(finished)), "a job finished twice"
    starts = _starts(log)
    sessions = list(dict.fromkeys(pid for _, pid in starts))
    assert len(sessions) == FAKE_KILLS + 1
    for kill, (done, flying) in enumerate(zip(done_at_kill, flying_at_kill, strict=True)):
        later = {job_hash for job_hash, pid in starts if pid in sessions[kill + 1 :]}
        assert not done & later, f"kill {kill + 1}: a finished job ran again"
        assert flying <= later, f"kill {kill + 1}: a job in flight at the kill was not run again"
