"""The length check: a task whose prompt template or training rows cannot fit ``training.max_length`` tokens is
refused with exit 2 before the workspace is touched (before, every job failed after minutes with "num_samples
should be a positive integer ... got 0"). The tokenizer is the base model's, loaded offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.task.test_hostile_data import ROWS, _write, data, run, task_file  # noqa: F401 (data: a fixture)
from trex.task.datafiles import DataError
from trex.task.lengths import base_tokenizer, check_lengths, prompt_tokens
from trex.task.spec import load_task

LONG_TEMPLATE = "Read this review with care, weigh every word, and answer. " * 12 + "Review: {text}\nAnswer:"


def _with_max_length(path: Path, max_length: int) -> Path:
    body = json.loads(path.read_text())
    body["training"] = {"max_length": max_length}
    path.write_text(json.dumps(body))
    return path


def test_a_template_longer_than_max_length_is_exit_2_before_the_workspace(data: Path) -> None:  # noqa: F811
    path = _with_max_length(task_file(data, "longtemplate", template=LONG_TEMPLATE), 64)
    out = run("run", str(path), "--workspace", str(data / "ws"))
    assert out.exit_code == 2, out.output
    message = " ".join(out.output.split())
    assert (
        "eval.prompt_template alone is" in message and "training.max_length is 64: no training row can fit" in message
    )
    assert not (data / "ws").exists()


def test_rows_all_longer_than_max_length_are_refused_naming_the_shortest(data: Path) -> None:  # noqa: F811
    _write(data / "data" / "long.csv", [(label, text + " and so on" * 40) for label, text in ROWS])
    path = _with_max_length(task_file(data, "longrows", train="data/long.csv"), 64)
    with pytest.raises(
        DataError, match=r"long.csv: no training row fits training.max_length 64 .*shortest row \(line"
    ):
        check_lengths(load_task(path), _rows(path), str(path))
    check_lengths(load_task(_with_max_length(path, 512)), _rows(path), str(path))  # room enough: passes


def test_the_tokenizer_is_the_base_models_and_loads_offline(tiny_task, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    tokenizer = base_tokenizer(tiny_task.base_model)
    assert tokenizer is not None
    rows = [{"text": "good"}, {"text": "good " * 30}]
    short, long = prompt_tokens(tiny_task, tokenizer, rows)
    assert short < long and short == len(tokenizer(tiny_task.eval.prompt_template.format(text="good"))["input_ids"])
    assert base_tokenizer("no-such-org/no-such-model-here") is None  # not on this machine: not measured


def _rows(path: Path):  # noqa: ANN202
    from trex.task.datacheck import splits_of

    return splits_of(load_task(path))["train"]
