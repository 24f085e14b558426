"""The CLI as a user runs it: a full tiny run, resume, status --json, report, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from trex.runtime.worker import START_MARKER

from .conftest import TINY_TASK


def trex(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trex", *args], capture_output=True, text=True, timeout=900)


def job_starts(workspace: Path) -> dict[str, int]:
    """How many times each job's worker started, read from the job logs."""
    return {log.parent.name: log.read_text().count(START_MARKER) for log in workspace.glob("nodes/*/jobs/*/log.txt")}


def test_version_and_bad_input(tmp_path: Path) -> None:
    out = trex("--version")
    assert out.returncode == 0 and out.stdout.startswith("trex 0.")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nobjectiv: typo here\n")
    out = trex("run", str(bad), "--workspace", str(tmp_path / "ws"))
    assert out.returncode == 2
    assert "bad.yaml:2: objectiv: unknown field" in out.stderr
    assert not (tmp_path / "ws").exists()  # nothing ran
    assert trex("run", str(TINY_TASK), "--workspace", str(tmp_path / "ws"), "--policy", "beam").returncode == 2
    assert trex("run", str(tmp_path / "none.yaml"), "--workspace", str(tmp_path / "ws")).returncode == 2
    assert trex("status", str(tmp_path / "nothing")).returncode == 2
    out = trex("run", str(TINY_TASK), "--workspace", str(tmp_path / "ws"), "--researcher", "llm")
    assert out.returncode == 2 and "--llm-model" in out.stderr
    assert not (tmp_path / "ws").exists()


def _job_results(ws: Path) -> list[str]:
    import sqlite3

    with sqlite3.connect(ws / "trex.db") as conn:
        return [row[0] for row in conn.execute("SELECT result FROM jobs WHERE result IS NOT NULL")]


@pytest.mark.slow
def test_tiny_run_resume_status_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = tmp_path / "ws"
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("TRACKIO_DIR", str(tmp_path / "trackio"))
    args = ("--iterations", "2", "--max-train-samples", "9", "--track", "mlflow")
    out = trex("run", str(TINY_TASK), "--workspace", str(ws), *args)
    assert out.returncode == 0, out.stderr
    assert "report:" in out.stdout and "(limit: iterations)" in out.stdout
    first = job_starts(ws)
    assert len(first) == 5 and set(first.values()) == {1}  # root: base model + 2 configs; node 2: 2 configs
    _check_mlflow(ws, first)

    out = trex("resume", str(ws), "--iterations", "3", "--track", "trackio")
    assert out.returncode == 0, out.stderr
    starts = job_starts(ws)
    assert {h: starts[h] for h in first} == first  # finished jobs never ran again
    assert len(starts) >= 6
    _check_trackio(tmp_path / "trackio" / "tiny.db", len(starts) - len(first))

    status = json.loads(trex("status", str(ws), "--json").stdout)
    assert status["task"] == "tiny"
    assert [n["id"] for n in status["nodes"]] == [1, 2, 3]
    keys = {
        "id",
        "parent",
        "depth",
        "strategy",
        "status",
        "visits",
        "value",
        "reward",
        "val_score",
        "test_score",
        "configs",
    }
    assert all(set(n) == keys for n in status["nodes"])
    root = status["nodes"][0]
    assert root["strategy"] == "establish_baseline" and root["configs"] == 2 and root["visits"] == 3
    assert sum(n["val_score"] is not None for n in status["nodes"]) >= 2
    assert set(status["best"]) == {"id", "val_score", "test_score"}
    assert status["base"]["val"] is not None
    assert status["stopped"] == {"reason": "reached 3 nodes", "limit": "iterations"}
    assert status["usage"]["wall_s"] > 0 and status["usage"]["gpu_hours"] == 0.0  # CPU: no GPU-hours
    results = [json.loads(r) for r in _job_results(ws)]
    trained = [r["train"]["train_rows"] for r in results if r.get("train")]
    assert trained and set(trained) == {9}  # --max-train-samples reached every job, and survived the resume

    table = trex("status", str(ws))
    assert table.returncode == 0 and "establish_baseline"[:4] in table.stdout
    (ws / "report.html").unlink()
    assert trex("report", str(ws)).returncode == 0
    html = (ws / "report.html").read_text()
    assert "best node" in html and "establish_baseline" in html

    # reuse: export the best node's model with a card, and replay its job
    best = status["best"]["id"]
    out = trex("export", str(ws), "--out", str(tmp_path / "model"))
    assert out.returncode == 0, out.stderr
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tmp_path / "model")
    AutoTokenizer.from_pretrained(tmp_path / "model")
    assert sum(p.numel() for p in model.parameters()) > 0
    card = (tmp_path / "model" / "README.md").read_text()
    assert f"node {best}" in card and "## Data recipe" in card and "validation" in card
    assert trex("export", str(ws), "--out", str(tmp_path / "model")).returncode == 2  # never overwrites

    replayed = trex("replay", str(ws), str(best))
    assert replayed.returncode == 0, replayed.stderr
    original = f"{status['best']['val_score']:.4f}"
    assert f"replay: val {original} (original {original})" in replayed.stdout  # same seed, same CPU: equal
    assert trex("replay", str(ws), "99").returncode == 2


def test_large_tree_table_keeps_best_path_and_newest_nodes() -> None:
    from trex.cli.inspect import TABLE_ROWS
    from trex.report.status import focus_nodes

    nodes = [{"id": i, "parent": None if i == 1 else (i - 1 if i <= 5 else 1)} for i in range(1, 101)]
    shown = [n["id"] for n in focus_nodes(nodes, best_id=5, newest=TABLE_ROWS)]
    assert shown == [1, 2, 3, 4, 5, *range(101 - TABLE_ROWS, 101)]
    assert focus_nodes(nodes[:10], best_id=5, newest=TABLE_ROWS) == nodes[:10]


def _check_mlflow(ws: Path, jobs: dict[str, int]) -> None:
    """--track mlflow: one run per job in the workspace's mlflow.db, with parameters and the loss curve."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{ws / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("tiny")
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.data.params["job_hash"] for r in runs) == sorted(jobs)
    assert {r.info.run_name for r in runs} >= {"node1-base-model"}
    trained = [r for r in runs if "train.learning_rate" in r.data.params]
    assert len(trained) == 4 and all(r.info.status == "FINISHED" for r in runs)
    for run in trained:
        losses = client.get_metric_history(run.info.run_id, "train/loss")
        assert losses and all(m.value > 0 for m in losses)
        assert 0.0 <= run.data.metrics["val/accuracy"] <= 1.0 and run.data.metrics["train/rows"] == 9


def _check_trackio(db: Path, new_jobs: int) -> None:
    """--track trackio on resume: the new node's jobs in trackio's local SQLite store, configs and metrics."""
    import sqlite3

    with sqlite3.connect(db) as conn:
        configs = [json.loads(c) for (c,) in conn.execute("SELECT config FROM configs")]
        logged = [json.loads(m) for (m,) in conn.execute("SELECT metrics FROM metrics")]
    assert len(configs) == new_jobs and all(c["node"] == 3 for c in configs)
    assert any("train/loss" in m for m in logged) and any("val/accuracy" in m for m in logged)
