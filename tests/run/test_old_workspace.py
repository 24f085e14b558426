"""A workspace written by the previous release (commit 359f412, before the package layout moved) still resumes.

The fixture is a finished one-node run of the tiny task made with that release; the job folders' absolute paths
are stored as ``@WORKSPACE@`` and put back in place here, as if the workspace had never moved.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.cli.test_cli import trex

FIXTURE = Path(__file__).parent / "fixtures" / "workspace_359f412"
PLACEHOLDER = "@WORKSPACE@"


def _in_place(workspace: Path) -> None:
    for path in workspace.rglob("*.json"):
        path.write_text(path.read_text(encoding="utf-8").replace(PLACEHOLDER, str(workspace)), encoding="utf-8")
    with sqlite3.connect(workspace / "trex.db") as conn:
        conn.execute("UPDATE jobs SET workdir = replace(workdir, ?, ?)", (PLACEHOLDER, str(workspace)))


@pytest.mark.slow
def test_a_workspace_of_the_previous_release_resumes_and_reuses_its_jobs(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    shutil.copytree(FIXTURE, workspace)
    _in_place(workspace)
    with sqlite3.connect(workspace / "trex.db") as conn:
        before = dict(conn.execute("SELECT hash, result FROM jobs").fetchall())
    assert trex("status", str(workspace)).returncode == 0

    out = trex("resume", str(workspace), "--iterations", "2")

    assert out.returncode == 0, out.stderr[-2000:]
    assert "reached 2 nodes" in out.stdout
    with sqlite3.connect(workspace / "trex.db") as conn:
        after = dict(conn.execute("SELECT hash, result FROM jobs").fetchall())
        nodes = conn.execute("SELECT id, status FROM nodes ORDER BY id").fetchall()
    assert [status for _, status in nodes] == ["done", "done"]
    assert all(after[h] == result for h, result in before.items())  # the old results are reused, not rerun
    assert not list((workspace / "nodes" / "1").glob("jobs/*/log.txt"))  # no job of the old node ran again
