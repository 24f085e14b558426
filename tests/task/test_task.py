"""TaskSpec loading: valid files load; every kind of bad input names the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from trex.task.spec import TaskError, load_task, parse_task

VALID = """\
name: t
objective: classify
base_model: embedded:tiny-qwen2
train_data: data/train.jsonl
eval:
  validation: data/val.jsonl
  test: /abs/test.jsonl
  prompt_template: "Q: {text}\\nA:"
  choices: {pos: " yes", neg: " no"}
limits:
  max_iterations: 5
"""


def test_valid_task_resolves_relative_paths_against_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "task.yaml"
    path.write_text(VALID)
    task = load_task(path)
    assert task.limits.max_iterations == 5
    assert task.train_data == str(tmp_path / "data" / "train.jsonl")
    assert task.eval.validation == str(tmp_path / "data" / "val.jsonl")
    assert task.eval.test == "/abs/test.jsonl"
    assert task.base_model == "embedded:tiny-qwen2"
    assert task.limits.configs_per_plan == 3


def test_misspelled_top_level_field_names_field_line_and_suggestion() -> None:
    text = VALID.replace("objective: classify", "objectiv: classify")
    with pytest.raises(TaskError) as exc:
        parse_task(text, Path("t.yaml"))
    message = str(exc.value)
    assert "t.yaml:2: objectiv: unknown field (did you mean 'objective'?)" in message
    assert "objective: required field is missing" in message


def test_nested_wrong_type_points_at_its_line() -> None:
    text = VALID.replace("max_iterations: 5", "max_iterations: many")
    with pytest.raises(TaskError, match=r"t.yaml:11: limits.max_iterations: .*integer"):
        parse_task(text, Path("t.yaml"))


def test_nested_unknown_field_suggests_the_nested_name() -> None:
    text = VALID.replace("  prompt_template:", "  prompt_templat:")
    with pytest.raises(
        TaskError, match=r"t.yaml:8: eval.prompt_templat: unknown field \(did you mean 'prompt_template'\?\)"
    ):
        parse_task(text, Path("t.yaml"))


def test_yaml_syntax_error_gives_line() -> None:
    with pytest.raises(TaskError, match=r"t.yaml:3: not valid YAML"):
        parse_task("name: t\nobjective: x\n  bad: [1,\n", Path("t.yaml"))


def test_unquoted_yes_no_labels_get_a_yaml_hint() -> None:
    text = VALID.replace("{pos: ", "{yes: ").replace(", neg: ", ", no: ")
    with pytest.raises(TaskError, match=r"t.yaml:9: eval.choices.*quote them"):
        parse_task(text, Path("t.yaml"))


def test_choices_mode_needs_choices() -> None:
    text = VALID.replace('  choices: {pos: " yes", neg: " no"}\n', "")
    with pytest.raises(TaskError, match="choices"):
        parse_task(text, Path("t.yaml"))


def test_missing_file_is_a_task_error(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match="cannot read task file"):
        load_task(tmp_path / "nope.yaml")


def test_normalize_uses_metric_range(tiny_task) -> None:
    assert tiny_task.normalize(0.75) == 0.75
    ranged = tiny_task.model_copy(update={"eval": tiny_task.eval.model_copy(update={"metric_range": (0.5, 1.0)})})
    assert ranged.normalize(0.75) == pytest.approx(0.5)
    assert ranged.normalize(0.2) == 0.0


# --- hostile inputs: fields past the schema ---------------------------------------------------------
HOSTILE = """name: h
objective: o
base_model: embedded:tiny-qwen2
train_data: {train}
eval:
  validation: v.csv
  test: t.csv
  prompt_template: "{template}"
  choices: {{a: " a"}}
"""


def test_only_plain_placeholders(tmp_path) -> None:  # noqa: ANN001
    import pytest

    from trex.task.spec import TaskError, parse_task

    for template in ("{text.__class__.__mro__}", "{text!r}", "{text:>10}", "{0}", "{text[0]}"):
        with pytest.raises(TaskError, match=r"t.yaml:8: eval.prompt_template: .*only plain"):
            parse_task(HOSTILE.format(train="tr.csv", template=template), tmp_path / "t.yaml")


def test_data_file_with_encoding(tmp_path) -> None:  # noqa: ANN001
    import pytest

    from trex.task.spec import TaskError, parse_task

    task = parse_task(
        HOSTILE.format(train="{path: tr.csv, encoding: latin-1}", template="{text}"), tmp_path / "t.yaml"
    )
    assert task.train_data == str(tmp_path / "tr.csv") and task.data_encodings == {task.train_data: "latin-1"}
    with pytest.raises(TaskError, match="t.yaml:4: train_data: unknown encoding 'klingon'"):
        parse_task(HOSTILE.format(train="{path: tr.csv, encoding: klingon}", template="{text}"), tmp_path / "t.yaml")


def test_split_and_files_are_exclusive(tmp_path) -> None:  # noqa: ANN001
    import pytest

    from trex.task.spec import TaskError, parse_task

    text = HOSTILE.format(train="tr.csv", template="{text}").replace(
        "  test: t.csv\n", "  test: t.csv\n  split: {from: all.csv, validation: 5, test: 5}\n"
    )
    with pytest.raises(TaskError, match="either split or validation/test"):
        parse_task(text, tmp_path / "t.yaml")


def test_one_file_split_is_written_into_the_workspace(tmp_path) -> None:  # noqa: ANN001
    from trex.run.workspace import prepare_data
    from trex.task.datacheck import splits_of
    from trex.task.spec import parse_task

    rows = "".join(f"{'a' if i % 2 else 'b'},row {i}\n" for i in range(40))
    (tmp_path / "all.csv").write_text("label,text\n" + rows)
    text = (
        "name: s\nobjective: o\nbase_model: m\neval:\n  split: {from: all.csv, validation: 6, test: 6}\n"
        '  prompt_template: "{text}"\n  choices: {a: " a", b: " b"}\n'
    )
    task = parse_task(text, tmp_path / "t.yaml")
    ready = prepare_data(task, splits_of(task), tmp_path / "ws_root")
    assert Path(ready.eval.validation).name == "validation.jsonl" and Path(ready.train_data).exists()
    first = Path(ready.eval.test).read_text()
    again = prepare_data(task, splits_of(task), tmp_path / "ws_root")
    assert Path(again.eval.test).read_text() == first and len(first.splitlines()) == 6
