"""The task fingerprint: a glob's files are hashed one by one, and fingerprints stored before that still match."""

from __future__ import annotations

from pathlib import Path

from trex.task.fingerprint import fingerprint, first_difference
from trex.task.spec import load_task

TASK = """\
name: t
objective: classify
base_model: embedded:tiny-qwen2
train_data: "data/train-*.jsonl"
eval:
  validation: data/val.jsonl
  test: data/test.jsonl
  prompt_template: "Q: {text}\\nA:"
  choices: {pos: " yes", neg: " no"}
"""


def _task(tmp_path: Path):  # noqa: ANN202
    data = tmp_path / "data"
    data.mkdir()
    for name in ("train-1.jsonl", "train-2.jsonl", "val.jsonl", "test.jsonl"):
        (data / name).write_text(f'{{"text": "{name}", "label": "pos"}}\n')
    (tmp_path / "task.yaml").write_text(TASK)
    return load_task(tmp_path / "task.yaml")


def test_each_file_behind_a_glob_is_hashed(tmp_path: Path) -> None:
    task = _task(tmp_path)
    before = fingerprint(task)
    pattern = str(tmp_path / "data" / "train-*.jsonl")
    assert before[f"data file {pattern}"] == "glob of 2 files"
    assert f"data file {pattern} -> {tmp_path / 'data' / 'train-2.jsonl'}" in before

    (tmp_path / "data" / "train-2.jsonl").write_text('{"text": "changed", "label": "neg"}\n')
    changed = first_difference(before, fingerprint(task))
    assert changed is not None and changed.startswith(f"data file {pattern} -> ") and "train-2.jsonl" in changed

    (tmp_path / "data" / "train-3.jsonl").write_text('{"text": "added", "label": "neg"}\n')
    added = first_difference(before, fingerprint(task))
    assert added == f"data file {pattern}: stored glob of 2 files, given glob of 3 files"


def test_a_fingerprint_stored_without_glob_entries_is_still_accepted(tmp_path: Path) -> None:
    task = _task(tmp_path)
    given = fingerprint(task)
    older = {k: v for k, v in given.items() if "train-" not in k}  # what a run stored before globs were hashed
    assert len(older) < len(given)
    assert first_difference(older, given) is None
    # the rest of the task is still compared
    assert first_difference({**older, "objective": '"other"'}, given) == 'objective: stored "other", given "classify"'
    # a stored pattern entry is compared in full: a file behind it that the stored one lacks is a difference
    partial = {k: v for k, v in given.items() if not k.endswith("train-2.jsonl")}
    assert "train-2.jsonl: stored (absent)" in (first_difference(partial, given) or "")
