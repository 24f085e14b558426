"""Ten SIGKILLs at random moments, each followed by a resume: the final tree equals an uninterrupted run's.

Same node count, parents, strategies and job hashes per node; every job finished exactly once
(one job_finished event per hash); the SQLite file passes its integrity check.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from .conftest import TINY_TASK
from .test_cli import trex

pytestmark = pytest.mark.slow
KILLS = 10


def _tree(ws: Path) -> list[tuple]:
    conn = sqlite3.connect(ws / "trex.db")
    nodes = conn.execute("SELECT id, parent, strategy, status FROM nodes ORDER BY id").fetchall()
    jobs = conn.execute(
        "SELECT node_id, group_concat(hash, ',') FROM node_jobs GROUP BY node_id ORDER BY node_id"
    ).fetchall()
    return [(*node, dict(jobs)[node[0]]) for node in nodes]


def test_ten_random_kills_then_the_same_tree(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    assert trex("run", str(TINY_TASK), "--workspace", str(reference), "--iterations", "3").returncode == 0

    ws = tmp_path / "killed"
    rng = random.Random(7)
    command = [sys.executable, "-m", "trex", "run", str(TINY_TASK), "--workspace", str(ws), "--iterations", "3"]
    kills = 0
    while kills < KILLS:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=rng.uniform(2.0, 7.0))
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            continue
        break  # the run completed before every kill was spent
    assert kills == KILLS, f"the run finished after only {kills} kills"
    assert subprocess.run(command, capture_output=True, timeout=900).returncode == 0
    assert _tree(ws) == _tree(reference)
    conn = sqlite3.connect(ws / "trex.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finished = Counter(
        row[0] for row in conn.execute("SELECT json_extract(data, '$.hash') FROM events WHERE kind = 'job_finished'")
    )
    assert finished and set(finished.values()) == {1}, "a job finished twice"
