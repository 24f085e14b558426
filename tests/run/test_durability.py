"""SIGKILLs at observed moments of progress, each followed by a resume: the run ends exactly as it should.

Kills are triggered by what the run has done, not by the clock: the first durable step of a session
(a result file written, a job result or a node committed to the store), and on every other kill
also the next job start after it, so the kill lands in the middle of a job. Every session makes
progress, so the kills always run out before the run does.

- One node at a time (one slot, the default on a CPU), ``NODES`` nodes: ten kills, then the final tree equals
  an uninterrupted run's (node count, parents, strategies and job hashes per node).
- Two nodes in flight (``--parallel-nodes 2``): every job finished exactly once, the store passes
  its integrity check, each node was planned after its parent finished, and the node count is the
  target.
In both: every job finished exactly once (one job_finished event per hash).

On one slot the two nodes' jobs run one at a time; ``test_resume_kill`` kills runs whose two nodes hold slots at
once (the FakeScheduler on four logical GPUs) and checks it at each kill.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.cli.test_cli import job_starts, trex
from tests.conftest import TINY_TASK

pytestmark = pytest.mark.slow
KILLS = 10
# durable steps of the tiny task's run (``_progress``): 20 at 3 nodes, 28 at 4. A job's result file and its store row
# come close together, so a session often takes two before its kill lands: at 3 nodes a loaded CI machine
# finished the run after 9 kills
NODES = 4


def _tree(ws: Path) -> list[tuple]:
    conn = sqlite3.connect(ws / "trex.db")
    nodes = conn.execute("SELECT id, parent, strategy, status FROM nodes ORDER BY id").fetchall()
    jobs = conn.execute(
        "SELECT node_id, group_concat(hash, ',') FROM node_jobs GROUP BY node_id ORDER BY node_id"
    ).fetchall()
    return [(*node, dict(jobs)[node[0]]) for node in nodes]


def _progress(ws: Path) -> int:
    """Durable steps so far: result files on disk, plus nodes, finished nodes and job results in the store."""
    steps = len(list(ws.glob("nodes/*/jobs/*/result.json")))
    if not (ws / "trex.db").exists():
        return steps
    try:
        conn = sqlite3.connect(f"file:{ws / 'trex.db'}?mode=ro", uri=True, timeout=5)
        steps += conn.execute(
            "SELECT (SELECT COUNT(*) FROM nodes) + (SELECT COUNT(*) FROM nodes WHERE status != 'running')"
            " + (SELECT COUNT(*) FROM jobs WHERE result IS NOT NULL)"
        ).fetchone()[0]
        conn.close()
    except sqlite3.Error:
        pass
    return steps


def _kill_on_progress(command: list[str], ws: Path, kills: int, rng: random.Random) -> int:
    """Run ``command`` and SIGKILL it after each session's first durable step (and, half the time, the next job
    start); return how many kills happened before the run completed on its own."""
    done = 0
    while done < kills:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        before, mid_job = _progress(ws), rng.random() < 0.5
        deadline = time.monotonic() + 600
        while proc.poll() is None and _progress(ws) <= before and time.monotonic() < deadline:
            time.sleep(0.05)
        starts = sum(job_starts(ws).values())
        while mid_job and proc.poll() is None and sum(job_starts(ws).values()) <= starts:
            time.sleep(0.05)
        if proc.poll() is not None:
            return done  # the run completed before every kill was spent
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        done += 1
    return done


def _finished_once(ws: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(ws / "trex.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finished = Counter(
        row[0] for row in conn.execute("SELECT json_extract(data, '$.hash') FROM events WHERE kind = 'job_finished'")
    )
    assert finished and set(finished.values()) == {1}, "a job finished twice"
    return conn


def test_ten_kills_on_progress_then_the_same_tree(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    assert trex("run", str(TINY_TASK), "--workspace", str(reference), "--iterations", str(NODES)).returncode == 0

    ws = tmp_path / "killed"
    command = [sys.executable, "-m", "trex", "run", str(TINY_TASK), "--workspace", str(ws), "--iterations", str(NODES)]
    kills = _kill_on_progress(command, ws, KILLS, random.Random(7))
    assert kills == KILLS, f"the run finished after only {kills} kills"
    assert subprocess.run(command, capture_output=True, timeout=900).returncode == 0
    assert _tree(ws) == _tree(reference)
    _finished_once(ws)


def test_kills_with_two_nodes_in_flight(tmp_path: Path) -> None:
    ws = tmp_path / "parallel"
    command = [sys.executable, "-m", "trex", "run", str(TINY_TASK), "--workspace", str(ws), "--iterations", "4"]
    command += ["--parallel-nodes", "2"]
    assert _kill_on_progress(command, ws, 5, random.Random(11)) == 5
    assert subprocess.run(command, capture_output=True, timeout=900).returncode == 0
    conn = _finished_once(ws)
    nodes = conn.execute("SELECT id, parent, status, created, finished FROM nodes ORDER BY id").fetchall()
    assert len(nodes) == 4  # the target
    assert all(status in ("done", "failed") for _, _, status, _, _ in nodes)
    finished_at = {node_id: finished for node_id, _, _, _, finished in nodes}
    assert all(finished_at[parent] <= created for _, parent, _, created, _ in nodes if parent is not None)
    together = conn.execute(  # two nodes were in flight at once at some moment
        "SELECT COUNT(*) FROM nodes a JOIN nodes b ON a.id < b.id WHERE b.created < a.finished"
    ).fetchone()[0]
    assert together >= 1
