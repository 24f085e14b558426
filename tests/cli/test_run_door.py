"""``trex run`` refuses at the door, before the workspace is touched: a task its researcher cannot start from, and
an LLM server that is not there (refused connection, 401, 404). Any other answer of the server lets it start."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.cli.test_cli import trex
from tests.conftest import TINY_TASK
from tests.llm.failing_server import FAILURES, failing_server, refused_url


def _without_train_data(tmp_path: Path) -> Path:
    spec = yaml.safe_load(TINY_TASK.read_text(encoding="utf-8"))
    del spec["train_data"]
    path = tmp_path / "scratch.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


@pytest.mark.parametrize("researcher", ["heuristic", "random"])
def test_a_task_without_train_data_is_refused_before_the_workspace_is_touched(tmp_path: Path, researcher: str) -> None:
    workspace = tmp_path / "ws"
    out = trex("run", str(_without_train_data(tmp_path)), "--workspace", str(workspace), "--researcher", researcher)
    assert out.returncode == 2
    assert f"train_data: the {researcher} researcher needs train_data in the task file" in out.stderr
    assert "--researcher llm can build" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert not workspace.exists()


def test_the_llm_researcher_starts_a_task_without_train_data(tmp_path: Path) -> None:
    from trex.run.options import RunOptions
    from trex.task.spec import load_task

    task = load_task(_without_train_data(tmp_path))
    RunOptions(researcher="llm", llm_model="m").check_task(task, "scratch.yaml")  # no refusal: it builds one
    with pytest.raises(ValueError, match="the heuristic researcher needs train_data"):
        RunOptions().check_task(task, "scratch.yaml")


def _llm_run(tmp_path: Path, url: str) -> tuple[int, str, Path]:
    workspace = tmp_path / "ws"
    args = ["--researcher", "llm", "--llm-model", "m", "--llm-base-url", url]
    out = trex("run", str(TINY_TASK), "--workspace", str(workspace), *args)
    return out.returncode, out.stderr, workspace


def test_an_llm_server_that_refuses_the_connection_is_exit_2_before_the_workspace(tmp_path: Path) -> None:
    code, err, workspace = _llm_run(tmp_path, refused_url())
    assert code == 2 and "no connection" in err
    assert not workspace.exists()


@pytest.mark.parametrize("failure", ["auth", "not_found"])
def test_an_llm_server_that_answers_401_or_404_is_exit_2_before_the_workspace(tmp_path: Path, failure: str) -> None:
    with failing_server(lambda body: FAILURES[failure]) as (url, requests):
        code, err, workspace = _llm_run(tmp_path, url)
    assert code == 2 and "HTTP" in err, err
    assert len(requests) == 1 and requests[0]["max_tokens"] == 1  # one minimal request
    assert not workspace.exists()
