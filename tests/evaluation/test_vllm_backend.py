"""The vLLM evaluation backend, driven through the worker against a stand-in ``vllm`` executable that
serves the OpenAI completions protocol over real HTTP (vLLM itself needs a GPU and its own environment)."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from trex.agents.heuristic.researcher import base_recipe
from trex.assets import resolve_data
from trex.evaluation.vllm_backend import VLLMError, VLLMServer
from trex.runtime.base import run_worker
from trex.runtime.job import Job, JobRequest

pytestmark = pytest.mark.slow
STANDIN = Path(__file__).with_name("vllm_standin.py")


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An executable ``vllm`` that runs the stand-in; returns the file its requests are logged to."""
    executable = tmp_path / "bin" / "vllm"
    executable.parent.mkdir()
    executable.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STANDIN}" "$@"\n')
    executable.chmod(executable.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "requests.jsonl"
    monkeypatch.setenv("TREX_VLLM", str(executable))
    monkeypatch.setenv("STANDIN_LOG", str(log))
    monkeypatch.setenv("STANDIN_ANSWER", " rotten, I would say.")
    return log


def _generate_task(tiny_task):
    return tiny_task.eval.model_copy(update={"mode": "generate", "max_new_tokens": 5})


def _share(split: str, label: str, tiny_task) -> float:
    rows = [json.loads(line) for line in Path(resolve_data(getattr(tiny_task.eval, split))).read_text().splitlines()]
    return sum(r["label"] == label for r in rows) / len(rows)


def test_generation_goes_through_vllm_for_base_and_trained_models(tiny_task, standin: Path, tmp_path: Path) -> None:
    evaluation = _generate_task(tiny_task)
    base = Job(base_model=tiny_task.base_model, eval=evaluation)
    result = run_worker(
        JobRequest(job=base, workdir=str(tmp_path / "b"), eval_backend="vllm", score_test=True),
        gpu=None,
        timeout_s=300,
    )
    assert result.status == "ok", result.error
    # every answer is " rotten, ...": the choice named first is 'rotten', so accuracy is the share of rotten rows
    assert result.val_score == pytest.approx(_share("validation", "rotten", tiny_task))
    assert result.test_score == pytest.approx(_share("test", "rotten", tiny_task))
    sent = [json.loads(line) for line in standin.read_text().splitlines()]
    assert sum(len(r["prompt"]) for r in sent) == result.validation.score.n + result.test.score.n
    assert all(r["max_tokens"] == 5 and r["temperature"] == 0.0 for r in sent)
    assert "evaluation backend: vllm" in (tmp_path / "b" / "log.txt").read_text()

    trained = Job(
        base_model=tiny_task.base_model,
        recipe=base_recipe(tiny_task, 16, seed=0),
        train=tiny_task.training.model_copy(update={"max_steps": 2}),
        eval=evaluation,
        max_train_samples=12,
    )
    request = JobRequest(job=trained, workdir=str(tmp_path / "t"), eval_backend="vllm")
    assert run_worker(request, gpu=None, timeout_s=300).status == "ok"
    assert (tmp_path / "t" / "merged" / "config.json").exists()  # vLLM serves the LoRA-merged weights
    served = {json.loads(line)["served_from"] for line in standin.read_text().splitlines()}
    assert str(tmp_path / "t" / "merged") in served


def test_vllm_that_cannot_start_fails_with_its_log(standin: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("STANDIN_FAIL", "CUDA error: no kernel image is available")
    with pytest.raises(VLLMError, match="no kernel image"), VLLMServer(tmp_path, tmp_path / "vllm.log"):
        pass
    monkeypatch.setenv("TREX_VLLM", str(tmp_path / "missing"))
    with pytest.raises(VLLMError, match="no such file"):
        VLLMServer(tmp_path, tmp_path / "vllm.log")
