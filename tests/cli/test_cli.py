"""The CLI as a user runs it: bad input, then one finished tiny run (run, resume) read by each feature in turn."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import TINY_TASK
from trex.runtime.worker import START_MARKER


def trex(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trex", *args], capture_output=True, text=True, timeout=900, env=env)


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


@dataclass
class FinishedRun:
    """A tiny run of 2 nodes (tracked by MLflow), resumed to 3 (tracked by trackio)."""

    root: Path
    ws: Path
    first: dict[str, int]  # job hash -> worker starts after the first session
    starts: dict[str, int]  # ... after the resume
    run_stdout: str
    env: dict[str, str]

    def trex(self, *args: str) -> subprocess.CompletedProcess[str]:
        return trex(*args, env=self.env)


@pytest.fixture(scope="session")  # once per test process (`make test` keeps a file's tests on one: --dist loadfile)
def finished(tmp_path_factory: pytest.TempPathFactory) -> FinishedRun:
    """One finished workspace for every test of the CLI's features, so a failure names one feature."""
    root = tmp_path_factory.mktemp("cli")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["TRACKIO_DIR"] = str(root / "trackio")
    ws = root / "ws"
    args = ("--iterations", "2", "--max-train-samples", "9", "--track", "mlflow")
    out = trex("run", str(TINY_TASK), "--workspace", str(ws), *args, env=env)
    assert out.returncode == 0, out.stderr
    first = job_starts(ws)
    resumed = trex("resume", str(ws), "--iterations", "3", "--track", "trackio", env=env)
    assert resumed.returncode == 0, resumed.stderr
    return FinishedRun(root, ws, first, job_starts(ws), out.stdout, env)


@pytest.mark.slow
def test_run_says_why_it_stopped_and_tracks_with_mlflow(finished: FinishedRun) -> None:
    assert "report:" in finished.run_stdout and "(limit: iterations)" in finished.run_stdout
    first = finished.first
    assert len(first) == 5 and set(first.values()) == {1}  # root: base model + 2 configs; node 2: 2 configs
    _check_mlflow(finished.ws, first)


@pytest.mark.slow
def test_resume_never_reruns_a_finished_job_and_tracks_with_trackio(finished: FinishedRun) -> None:
    starts = finished.starts
    assert {h: starts[h] for h in finished.first} == finished.first  # finished jobs never ran again
    assert len(starts) >= 6
    _check_trackio(finished.root / "trackio" / "tiny.db", len(starts) - len(finished.first))
    results = [json.loads(r) for r in _job_results(finished.ws)]
    trained = [r["train"]["train_rows"] for r in results if r.get("train")]
    assert trained and set(trained) == {9}  # --max-train-samples reached every job, and survived the resume


@pytest.mark.slow
def test_status_json(finished: FinishedRun) -> None:
    status = json.loads(finished.trex("status", str(finished.ws), "--json").stdout)
    assert status["task"] == "tiny"
    assert [n["id"] for n in status["nodes"]] == [1, 2, 3]
    keys = {"id", "parent", "depth", "strategy", "status", "visits", "value", "reward", "val_score", "test_score"}
    assert all(keys | {"configs"} <= set(n) for n in status["nodes"])
    root = status["nodes"][0]
    assert root["strategy"] == "establish_baseline" and root["configs"] == 2 and root["visits"] == 3
    assert sum(n["val_score"] is not None for n in status["nodes"]) >= 2
    assert {"id", "val_score", "test_score"} <= set(status["best"])
    assert status["base"]["val"] is not None
    assert status["stopped"] == {"reason": "reached 3 nodes", "limit": "iterations"}
    assert status["usage"]["wall_s"] > 0 and status["usage"]["gpu_hours"] == 0.0  # CPU: no GPU-hours


@pytest.mark.slow
def test_status_table_and_report(finished: FinishedRun) -> None:
    table = finished.trex("status", str(finished.ws))
    assert table.returncode == 0 and "establish_baseline"[:4] in table.stdout
    (finished.ws / "report.html").unlink()
    assert finished.trex("report", str(finished.ws)).returncode == 0
    html = (finished.ws / "report.html").read_text()
    assert "best node" in html and "establish_baseline" in html


@pytest.mark.slow
def test_export_writes_a_model_with_a_card(finished: FinishedRun) -> None:
    best = json.loads(finished.trex("status", str(finished.ws), "--json").stdout)["best"]["id"]
    out_dir = finished.root / "model"
    out = finished.trex("export", str(finished.ws), "--out", str(out_dir))
    assert out.returncode == 0, out.stderr
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(out_dir)
    AutoTokenizer.from_pretrained(out_dir)
    assert sum(p.numel() for p in model.parameters()) > 0
    card = (out_dir / "README.md").read_text()
    assert f"node {best}" in card and "## Data recipe" in card and "validation" in card
    assert finished.trex("export", str(finished.ws), "--out", str(out_dir)).returncode == 2  # never overwrites


@pytest.mark.slow
def test_replay_reproduces_the_best_node(finished: FinishedRun) -> None:
    status = json.loads(finished.trex("status", str(finished.ws), "--json").stdout)
    replayed = finished.trex("replay", str(finished.ws), str(status["best"]["id"]))
    assert replayed.returncode == 0, replayed.stderr
    original = f"{status['best']['val_score']:.4f}"
    assert f"replay: val {original} (original {original})" in replayed.stdout  # same seed, same CPU: equal
    assert finished.trex("replay", str(finished.ws), "99").returncode == 2


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
