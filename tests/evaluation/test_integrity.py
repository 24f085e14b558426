"""Evaluation integrity: a job whose validation file or metric module changed after the run's start fails with the
cause "evaluation changed" and no score; an unchanged one scores and records what it checked."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from trex.evaluation.integrity import CHANGED, EvaluationChanged, check_evaluation, evaluation_files, hash_files
from trex.runtime.job import Job, JobRequest, JobResult
from trex.runtime.worker import RESULT_FILE, main
from trex.task.spec import TaskSpec, load_task

HERE = Path(__file__).parent
ROWS = [("fresh", "a fine film"), ("rotten", "a dull film"), ("fresh", "lovely"), ("rotten", "boring")] * 4


def split_rows(split: str) -> list[tuple[str, str]]:
    """Rows no other split shares (the door refuses overlapping splits)."""
    return [(label, f"{text} ({split} {i})") for i, (label, text) in enumerate(ROWS)]


def write_csv(path: Path, rows: list[tuple[str, str]]) -> None:
    path.write_text("label,text\n" + "".join(f"{label},{text}\n" for label, text in rows), encoding="utf-8")


def local_task(root: Path) -> tuple[TaskSpec, Path]:
    """A local CSV task scored by the custom metric module copied into the task's folder."""
    data = root / "data"
    data.mkdir(parents=True)
    for name in ("train", "val", "test"):
        write_csv(data / f"{name}.csv", split_rows(name))
    shutil.copy(HERE / "custom_metric.py", root / "custom_metric.py")
    body = {
        "name": "integrity",
        "objective": "Classify reviews.",
        "base_model": "embedded:tiny-qwen2",
        "train_data": "data/train.csv",
        "eval": {
            "validation": "data/val.csv",
            "test": "data/test.csv",
            "prompt_template": "Review: {text}\nAnswer:",
            "choices": {"fresh": " fresh", "rotten": " rotten"},
            "metric": "custom_metric:first_char_match",
        },
        "training": {"max_steps": 2, "batch_size": 4, "max_length": 48},
        "limits": {"max_iterations": 2, "configs_per_plan": 1},
    }
    path = root / "task.yaml"
    path.write_text(json.dumps(body), encoding="utf-8")
    return load_task(path), path


def recorded_at_start(task: TaskSpec) -> dict[str, str | None]:
    files = evaluation_files(task.eval)
    return hash_files([*files["evaluation"], *files["metric"]])


def test_files_are_the_splits_and_the_metric_module(tmp_path: Path) -> None:
    task, _ = local_task(tmp_path)
    files = evaluation_files(task.eval)
    assert [Path(p).name for p in files["evaluation"]] == ["val.csv", "test.csv"]
    assert files["metric"] == [str((tmp_path / "custom_metric.py").resolve())]
    builtin = evaluation_files(task.eval.model_copy(update={"metric": "accuracy"}))["metric"]
    assert builtin == [str((Path(__file__).parents[2] / "src/trex/evaluation/metrics.py").resolve())]


def test_check_names_each_changed_file(tmp_path: Path) -> None:
    task, _ = local_task(tmp_path)
    recorded = recorded_at_start(task)
    assert check_evaluation(task.eval, recorded) == recorded
    write_csv(tmp_path / "data/val.csv", ROWS[::-1])
    (tmp_path / "custom_metric.py").write_text("def first_char_match(p, r):\n    return 1.0\n", encoding="utf-8")
    with pytest.raises(EvaluationChanged) as raised:
        check_evaluation(task.eval, recorded)
    message = str(raised.value)
    assert message.startswith(CHANGED)
    assert "val.csv: content differs" in message and "custom_metric.py: content differs" in message
    assert "test.csv" not in message


def _score(task: TaskSpec, recorded: dict[str, str | None], workdir: Path) -> JobResult:
    """The real worker on the base-model job of the task, in this process."""
    workdir.mkdir(parents=True)
    request = JobRequest(job=Job(base_model=task.base_model, eval=task.eval), workdir=str(workdir),
                         evaluation_sha256=recorded)  # fmt: skip
    (workdir / "job.json").write_text(request.model_dump_json(), encoding="utf-8")
    main([str(workdir / "job.json")])
    return JobResult.model_validate_json((workdir / RESULT_FILE).read_text(encoding="utf-8"))


@pytest.mark.parametrize("changed", ["data/val.csv", "custom_metric.py"])
def test_a_job_scoring_after_a_change_fails_without_a_score(tmp_path: Path, changed: str) -> None:
    task, _ = local_task(tmp_path)
    recorded = recorded_at_start(task)
    intact = _score(task, recorded, tmp_path / "intact")
    assert intact.status == "ok" and intact.val_score is not None
    assert intact.evaluation_check == recorded
    path = tmp_path / changed
    path.write_text(path.read_text(encoding="utf-8") + "\n# one more line\n", encoding="utf-8")
    result = _score(task, recorded, tmp_path / "after")
    assert result.status == "failed" and result.error_class == "evaluation_changed"
    assert CHANGED in (result.error or "") and Path(changed).name in (result.error or "")
    assert result.validation is None and result.test is None and result.val_score is None
