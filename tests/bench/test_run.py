"""`trex bench list` and `trex bench run` as a user runs them, offline: fixtures, a tiny model, a local server."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from trex.bench.sources import SourceError, fetch_split, reachable
from trex.bench.spec import load_bench_task


def trex(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trex", *args],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, **(env or {})},
    )


class _Hub(http.server.BaseHTTPRequestHandler):
    def do_HEAD(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(200 if self.path == "/api/datasets/stanfordnlp/sst2" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_reachable_asks_the_hub_over_http(monkeypatch: pytest.MonkeyPatch) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
        assert reachable(load_bench_task("sst-2").source)
        assert not reachable(load_bench_task("hoc").source)  # 404
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        assert not reachable(load_bench_task("sst-2").source)  # offline: no request at all
    finally:
        server.shutdown()


def test_offline_fetch_fails_fast_with_the_dataset_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SourceError, match="stanfordnlp/sst2: the hub is unreachable"):
        fetch_split(load_bench_task("sst-2").source, "train")


def test_bench_list_json() -> None:
    out = trex("bench", "list", "--json", env={"HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr
    tasks = json.loads(out.stdout)
    assert len(tasks) == 10 and all(t["reachable"] is False for t in tasks)
    assert {"name", "metric", "reference_score", "base_score", "reachable"} <= set(tasks[0])


@pytest.mark.slow
def test_bench_run_on_fixtures_writes_table_3(tmp_path: Path) -> None:
    ws = tmp_path / "bench"
    quick = ["--fixtures", "--base-model", "embedded:tiny-qwen2", "--iterations", "1", "--max-steps", "2"]
    out = trex("bench", "run", "sst-2", "--workspace", str(ws), *quick, "--reference-score", "0.9")
    assert out.returncode == 0, out.stderr
    table = (ws / "bench.md").read_text()
    assert "paper: reference" in table and "attempted" in table  # the paper's Table 3 apart, labelled; Table 4
    row = json.loads((ws / "bench.json").read_text())[0]
    assert row["name"] == "sst-2" and row["error"] is None and row["base"] is not None and row["best"] is not None
    assert (row["paper_reference"], row["paper_base"]) == (0.970, 0.958)
    # the gain only against a reference on the same split: here the one given
    assert row["reference"] == 0.9 and row["reference_from"] == "given"
    assert row["gain"] == pytest.approx((row["best"] - row["base"]) / (0.9 - row["base"]))
    assert (ws / "sst-2" / "run" / "report.html").exists()
    status = json.loads(trex("status", str(ws / "sst-2" / "run"), "--json").stdout)
    assert status["task"] == "sst-2" and len(status["nodes"]) == 1

    # a task whose data cannot be fetched is a row with its error; the table keeps the earlier task
    out = trex("bench", "run", "hoc", "--workspace", str(ws), env={"HF_HUB_OFFLINE": "1"})
    assert out.returncode == 1
    assert "bigbio/hallmarks_of_cancer: the hub is unreachable" in out.stdout
    table = (ws / "bench.md").read_text()
    assert "| sst-2 |" in table and "| hoc |" in table and "error: SourceError" in table

    assert trex("bench", "run", "mmlu", "--workspace", str(ws)).returncode == 2


def test_a_fixture_run_is_fixture_sized_and_a_real_run_is_not(tmp_path: Path) -> None:
    from trex.bench.run import FIXTURE_MAX_NEW_TOKENS, FIXTURE_TRAINING, prepare_data, task_file

    task = load_bench_task("aci-bench")
    paths = prepare_data(task, tmp_path, fixtures=True)
    real = task_file(task, paths, None, {}, None)
    small = task_file(task, paths, None, {}, None, fixtures=True)
    assert real["eval"]["max_new_tokens"] == task.task["eval"]["max_new_tokens"] == 1024
    assert real["training"]["max_steps"] == task.task["training"]["max_steps"]
    assert small["eval"]["max_new_tokens"] == FIXTURE_MAX_NEW_TOKENS
    assert small["training"]["max_steps"] == FIXTURE_TRAINING["max_steps"]
    assert small["decontaminate"] is False  # ACI's dialogues share 8-word phrases: the guard would drop every row
