"""A workspace under hostile use: one run at a time, one task, no foreign files written, honest exits.

Also the loose ends: markup in names, credentials in URLs, foreign Host headers, HTML in the model
card, custom metrics that would run code at validation, and the innermost cause of a failed job.
Nothing here loads a model: each test takes a fraction of a second.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.task.test_hostile_data import data, task_file  # noqa: F401 (the data fixture)
from trex.cli.app import app
from trex.run.workspace import LOCK_FILE, WorkspaceError, WorkspaceLock, strip_credentials
from trex.store import Store
from trex.task.fingerprint import fingerprint
from trex.task.spec import TaskError, load_task


def run(*args: str):  # noqa: ANN201
    return CliRunner().invoke(app, list(args))


def started(root: Path, task_path: Path) -> Path:
    """A workspace as a first run leaves it before its first job: store, task.yaml, fingerprint."""
    ws = root / "ws"
    store = Store(ws)
    task = load_task(task_path)
    store.set_metas({"task_name": task.name, "task_fingerprint": fingerprint(task), "task_dir": str(root)})
    store.close()
    (ws / "task.yaml").write_text(task_path.read_text())
    return ws


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.endswith(("-wal", "-shm"))
    }


def test_second_run_names_the_holders_pid_and_sigkill_leaves_no_stale_lock(data: Path) -> None:  # noqa: F811
    path = task_file(data, "ok")
    ws = started(data, path)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from trex.run.workspace import WorkspaceLock; from pathlib import Path;"
         " WorkspaceLock(Path(sys.argv[1])); print('held', flush=True); import time; time.sleep(60)", str(ws)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        out = run("run", str(path), "--workspace", str(ws))
        assert out.exit_code == 2 and f"PID {holder.pid}" in out.output
        with pytest.raises(WorkspaceError, match=f"PID {holder.pid}"):
            WorkspaceLock(ws)
        assert run("resume", str(ws)).exit_code == 2
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    WorkspaceLock(ws).release()  # the kernel dropped the killed holder's lock
    assert (ws / LOCK_FILE).exists()


def test_changed_task_names_the_first_difference_and_changes_nothing(data: Path) -> None:  # noqa: F811
    ws = started(data, task_file(data, "ok"))
    before = snapshot(ws)
    other = task_file(data, "ok", template="Text: {text}\nAnswer:")  # same name, another prompt
    out = run("run", str(other), "--workspace", str(ws))
    assert out.exit_code == 2 and "eval.prompt_template" in out.output and "trex resume" in out.output
    (data / "data" / "val.csv").write_text("label,text\nfresh,changed\n")
    assert run("run", str(task_file(data, "ok")), "--workspace", str(ws)).exit_code == 2  # data changed too
    out = run("resume", str(ws))
    assert out.exit_code == 2 and "data file" in out.output and "val.csv" in out.output
    assert snapshot(ws) == before


def test_foreign_folder_file_and_corrupt_store_are_refused(data: Path) -> None:  # noqa: F811
    path = task_file(data, "ok")
    mine = data / "mine"
    mine.mkdir()
    (mine / "task.yaml").write_text("my own notes")
    out = run("run", str(path), "--workspace", str(mine))
    assert out.exit_code == 2 and "holds other files" in out.output
    assert (mine / "task.yaml").read_text() == "my own notes"
    afile = data / "afile"
    afile.write_text("x")
    assert "is a file" in run("run", str(path), "--workspace", str(afile)).output
    out = run("run", str(path), "--workspace", str(afile / "sub"))  # cannot be created: exit 2, named
    assert out.exit_code == 2 and "cannot create or write" in out.output
    out = run("run", str(path), "--workspace", "/proc/trex-ws")  # an unwritable place
    assert out.exit_code == 2 and "/proc/trex-ws" in out.output
    for content in (b"", b"garbage that is no database"):
        ws = data / f"corrupt{len(content)}"
        ws.mkdir()
        (ws / "trex.db").write_bytes(content)
        for args in (("run", str(path), "--workspace", str(ws)), ("status", str(ws)), ("resume", str(ws))):
            out = run(*args)
            assert out.exit_code == 2 and "not a trex store" in out.output, (args, out.output)
        assert (ws / "trex.db").read_bytes() == content


def test_markup_in_names_is_printed_as_typed(tmp_path: Path) -> None:
    out = run("run", str(tmp_path / "no[/]such.yaml"), "--workspace", str(tmp_path / "ws"))
    assert out.exit_code == 2 and "no[/]such.yaml" in out.output
    out = run("run", str(tmp_path / "[red on red]hidden[/].yaml"), "--workspace", str(tmp_path / "ws"))
    assert "[red on red]hidden[/].yaml" in out.output


def test_credentials_are_stripped_from_urls() -> None:
    assert strip_credentials("http://user:secret@host:8000/v1") == "http://host:8000/v1"
    assert strip_credentials("https://h/v1?api_key=abc&model=x") == "https://h/v1?model=x"
    assert strip_credentials(None) is None


def test_serve_refuses_foreign_host_headers(data: Path) -> None:  # noqa: F811
    from trex.report.serve import make_server

    ws = started(data, task_file(data, "ok"))
    server = make_server(ws, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/status.json"
    try:
        evil = urllib.request.Request(url, headers={"Host": "attacker.example"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(evil, timeout=5)
        assert refused.value.code == 421
        with urllib.request.urlopen(url, timeout=5) as ok:
            assert json.loads(ok.read())["nodes"] == 0
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(ValueError, match="70000"):
        make_server(ws, 70000)


def test_model_card_escapes_html() -> None:
    from trex.evaluation.config import EvalConfig
    from trex.report.card import model_card
    from trex.runtime.job import Job, JobResult

    cfg = EvalConfig(validation="v", test="t", prompt_template="`{text}` <b>", choices={"a": " a"})
    job = Job(base_model="m", eval=cfg)
    card = model_card("t", "<script>alert(1)</script>", 1, job, JobResult(job_hash="h", status="ok"), "adapter")
    assert "<script>" not in card and "&lt;script&gt;" in card and "<b>" not in card


def test_custom_metric_is_not_imported_at_validation(tmp_path: Path) -> None:
    marker = tmp_path / "imported"
    (tmp_path / "my_metric.py").write_text(
        f"open({str(marker)!r}, 'w').close()\ndef score(p, r):\n    return 1.0\n", encoding="utf-8"
    )
    body = {"name": "m", "objective": "o", "base_model": "x", "eval": {"validation": "v.csv", "test": "t.csv",
            "prompt_template": "{text}", "choices": {"a": " a"}, "metric": "my_metric:score"}}  # fmt: skip
    path = tmp_path / "task.yaml"
    path.write_text(json.dumps(body))
    task = load_task(path)
    assert not marker.exists() and task.eval.metric == f"{tmp_path / 'my_metric.py'}:score"
    from trex.evaluation.metrics import resolve_metric

    assert resolve_metric(task.eval.metric).corpus(["a"], ["a"]) == 1.0 and marker.exists()  # imported by a job
    for metric in ("os:system", "subprocess.call"):
        body["eval"]["metric"] = metric
        path.write_text(json.dumps(body))
        with pytest.raises(TaskError, match="neither a file under the task's folder"):
            load_task(path)
    body["eval"]["metric"], body["metric_package"] = "mypkg.metrics:f1", "mypkg"
    path.write_text(json.dumps(body))
    assert load_task(path).eval.metric == "mypkg.metrics:f1"  # named by the task: imported by the job


def test_failed_job_keeps_the_innermost_cause(tmp_path: Path) -> None:
    from trex.runtime.worker import innermost

    try:
        try:
            b"caf\xe9".decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RuntimeError("An error occurred while generating the dataset") from exc
    except RuntimeError as outer:
        assert isinstance(innermost(outer), UnicodeDecodeError)


def test_run_with_no_successful_job_reports_the_commonest_cause(tmp_path: Path) -> None:
    from trex.cli.run import no_success
    from trex.runtime.job import JobResult

    store = Store(tmp_path / "ws")
    for i, error in enumerate(["UnicodeDecodeError: x", "UnicodeDecodeError: x", "KeyError: y"]):
        result = JobResult.failure(f"h{i}", error, "exception")
        store.conn.execute(
            "INSERT INTO jobs(hash, spec, status, result, workdir) VALUES (?, '{}', 'failed', ?, ?)",
            (f"h{i}", result.model_dump_json(), f"/ws/nodes/1/jobs/h{i}"),
        )
    message = no_success(store)
    assert message is not None and "(2x): UnicodeDecodeError: x" in message and "/ws/nodes/1/jobs/h0" in message
    store.conn.execute(
        "UPDATE jobs SET result = ? WHERE hash = 'h2'", (JobResult(job_hash="h2", status="ok").model_dump_json(),)
    )
    assert no_success(store) is None
    assert os.environ.get("TREX_CACHE")  # the session's isolated cache (conftest)


def test_llm_fallback_is_counted_and_warned(data: Path) -> None:  # noqa: F811
    from trex.report.status import run_status

    ws = started(data, task_file(data, "ok"))
    store = Store(ws)
    store.event("researcher_fallback", None, error="connection refused")
    assert run_status(store)["llm_fallbacks"] == 1
    store.close()
    out = run("status", str(ws))
    assert out.exit_code == 0 and "warning: the LLM researcher failed 1 time(s)" in out.output
