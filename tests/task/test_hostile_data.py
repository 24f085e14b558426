"""Broken data is refused before any job, with exit 2 and the file and line: one test per finding.

Every case runs the real CLI in-process (typer's runner) and never loads a model: the refusal
comes from the data check, so each takes a fraction of a second.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trex.cli.app import app
from trex.task.datacheck import check_task_data, splits_of
from trex.task.spec import load_task

ROWS = [
    ("fresh" if i % 2 else "rotten", f"review number {i} is quite {'good' if i % 2 else 'bad'}") for i in range(60)
]


def _write(path: Path, rows: list[tuple[str, str]], enc: str = "utf-8", header: tuple[str, str] = ("label", "text")):
    with open(path, "w", newline="", encoding=enc) as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    _write(d / "train.csv", ROWS)
    _write(d / "val.csv", ROWS[:20])
    _write(d / "test.csv", ROWS[20:40])
    _write(d / "latin1.csv", [(label, text + " caf\u00e9") for label, text in ROWS], enc="latin-1")
    _write(d / "badlabel_val.csv", [*ROWS[:19], ("maybe", "a label outside the choices")])
    _write(d / "nocol.csv", ROWS, header=("label", "body"))
    _write(d / "empty.csv", [])
    (d / "zero.csv").write_bytes(b"")
    (d / "broken.jsonl").write_text('{"label": "fresh", "text": "ok"}\n{"label": "rotten", "text": \n')
    return tmp_path


def task_file(root: Path, name: str, train: str = "data/train.csv", val: str = "data/val.csv", **extra: str) -> Path:
    body = {
        "name": f"hostile_{name}",
        "objective": "Classify reviews.",
        "base_model": "embedded:tiny-qwen2",
        "train_data": train,
        "eval": {
            "validation": val,
            "test": extra.pop("test", "data/test.csv"),
            "prompt_template": extra.pop("template", "Review: {text}\nAnswer:"),
            "choices": {"fresh": " fresh", "rotten": " rotten"},
        },
        "limits": {"max_iterations": 1, "configs_per_plan": 1},
        **extra,
    }
    path = root / f"{name}.yaml"
    path.write_text(json.dumps(body), encoding="utf-8")  # JSON is YAML
    return path


def run(*args: str):  # noqa: ANN201
    return CliRunner().invoke(app, list(args))


CASES = {
    "latin1": ({"train": "data/latin1.csv"}, r"latin1.csv:2: not valid utf-8 (byte 0xe9"),
    "badlabel": ({"val": "data/badlabel_val.csv"}, "badlabel_val.csv:21: label 'maybe' is not one of the choices"),
    "nocol": ({"train": "data/nocol.csv"}, "nocol.csv: no column 'text'"),
    "empty": ({"train": "data/empty.csv"}, "empty.csv: no rows"),
    "zero": ({"train": "data/zero.csv"}, "zero.csv:1: empty file"),
    "broken": ({"train": "data/broken.jsonl"}, "broken.jsonl:2: not valid JSON"),
    "samesplit": ({"test": "data/val.csv"}, "validation and test are the same file"),
    "missing": ({"train": "data/nothere.csv"}, "nothere.csv: no such file"),
    "placeholder": ({"template": "Review: {txt}"}, "placeholder {txt} is no column of"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_data_exits_2_naming_file_and_line(data: Path, case: str) -> None:
    extra, message = CASES[case]
    out = run("run", str(task_file(data, case, **extra)), "--workspace", str(data / "ws"))
    assert out.exit_code == 2, out.output
    assert message in " ".join(out.output.split()), out.output
    assert not (data / "ws").exists()  # refused before the workspace was made


def test_decode_error_suggests_but_never_guesses(data: Path) -> None:
    out = run("run", str(task_file(data, "latin1", train="data/latin1.csv")), "--workspace", str(data / "ws"))
    assert "charset-normalizer's guess" in out.output and "encoding:" in out.output


def test_declared_encoding_is_read_and_transcoded(data: Path) -> None:
    path = task_file(data, "enc", train={"path": "data/latin1.csv", "encoding": "latin-1"})  # type: ignore[arg-type]
    task = load_task(path)
    train = splits_of(task)["train"]
    assert train.rows[0]["text"].endswith("caf\u00e9")


def test_overlapping_splits_refused_unless_allowed(data: Path) -> None:
    _write(data / "data" / "test_overlap.csv", ROWS[10:30])  # 10 of 20 rows shared with val
    path = task_file(data, "overlap", test="data/test_overlap.csv")
    out = run("run", str(path), "--workspace", str(data / "ws"))
    assert out.exit_code == 2 and "also in" in out.output
    allowed = load_task(task_file(data, "overlap_ok", test="data/test_overlap.csv", allow_overlap=True))  # type: ignore[arg-type]
    assert check_task_data(allowed).rows["test"] == 20


def test_one_file_split_is_deterministic_and_stratified(data: Path) -> None:
    body = json.loads(task_file(data, "split").read_text())
    body["eval"].pop("validation")
    body["eval"].pop("test")
    body["eval"]["split"] = {"from": "data/train.csv", "validation": 10, "test": 10, "seed": 3}
    del body["train_data"]
    path = data / "split.yaml"
    path.write_text(json.dumps(body))
    first, second = splits_of(load_task(path)), splits_of(load_task(path))
    assert [r["text"] for r in first["validation"].rows] == [r["text"] for r in second["validation"].rows]
    assert len(first["train"].rows) == 40
    assert sum(r["label"] == "fresh" for r in first["test"].rows) == 5  # stratified: half of each label
    assert not {r["text"] for r in first["validation"].rows} & {r["text"] for r in first["test"].rows}


def test_task_yaml_not_utf8_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "task.yaml"
    path.write_bytes(b"name: x\nobjective: caf\xe9\n")
    out = run("run", str(path), "--workspace", str(tmp_path / "ws"))
    assert out.exit_code == 2 and "task.yaml:2: not valid utf-8" in out.output


def test_aidp_run_checks_its_files_before_any_step(data: Path) -> None:
    recipe = data / "recipe.json"
    recipe.write_text(json.dumps([{"op": "load_local_dataset", "args": {"path": str(data / "data" / "latin1.csv")}}]))
    out = run("aidp", "run", str(recipe), "--out", str(data / "out"))
    assert out.exit_code == 2 and "latin1.csv:2: not valid utf-8" in out.output
    recipe.write_text(
        json.dumps(
            [{"op": "load_local_dataset", "args": {"path": str(data / "data" / "latin1.csv"), "encoding": "latin-1"}}]
        )
    )
    assert "not valid" not in run("aidp", "run", str(recipe), "--out", str(data / "out")).output


def test_a_recipe_step_that_empties_the_data_is_named(data: Path) -> None:
    steps = [
        {"op": "load_local_dataset", "args": {"path": str(data / "data" / "train.csv")}},
        {"op": "select_by_filter", "args": {"expression": "len(text) > 10000"}},
    ]
    recipe = data / "recipe.json"
    recipe.write_text(json.dumps(steps))
    out = run("aidp", "run", str(recipe), "--out", str(data / "out"))
    assert out.exit_code == 1 and "step 2 (select_by_filter) left no rows of 60" in " ".join(out.output.split())


def test_forbidden_filter_syntax_is_refused_before_data_loads(data: Path) -> None:
    steps = [
        {"op": "load_local_dataset", "args": {"path": str(data / "data" / "nothere.csv")}},
        {"op": "select_by_filter", "args": {"expression": "text.__class__"}},
    ]
    recipe = data / "recipe.json"
    recipe.write_text(json.dumps(steps))
    out = run("aidp", "run", str(recipe), "--out", str(data / "out"))
    assert out.exit_code == 2 and "not allowed in a filter expression" in out.output


def test_jsonl_line_separators_inside_strings_are_data(tmp_path: Path) -> None:
    from trex.task.datafiles import read_rows

    path = tmp_path / "rows.jsonl"
    path.write_text('{"text": "a\u2028b", "label": "fresh"}\r\n{"text": "c", "label": "rotten"}\n', encoding="utf-8")
    rows = read_rows(str(path))
    assert [r["text"] for r in rows.rows] == ["a\u2028b", "c"] and rows.lines == [1, 2]
