"""FT-Bench's `checked:` figures re-checked on the packaged real slices, through the `--source-dir` code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from trex.bench.run import prepare_rows
from trex.bench.slices import check_slices, write_source_copy
from trex.bench.spec import fixture_meta, load_bench_task, task_names

REAL = [name for name in task_names() if fixture_meta(name).kind == "real"]


def test_every_real_slice_has_a_checked_block_to_compare_with() -> None:
    assert REAL == ["aci-bench", "cs-bench", "lawbench", "omebench"]
    for name in REAL:
        checked = load_bench_task(name).checked
        assert checked is not None and checked.columns["test"] and checked.prepared_columns


@pytest.mark.parametrize("name", REAL)
def test_a_real_slice_agrees_with_the_checked_block(name: str, tmp_path: Path) -> None:
    assert check_slices(load_bench_task(name), tmp_path) == []


def test_the_slice_check_finds_what_disagrees(tmp_path: Path) -> None:
    task = load_bench_task("cs-bench")
    checked = task.checked
    assert checked is not None and checked.labels is not None
    columns = {**checked.columns, "test": [*checked.columns["test"], "Explanation"]}  # not in every real row
    wrong = checked.model_copy(update={"columns": columns, "labels": checked.labels[:5]})  # no "true"
    problems = check_slices(task.model_copy(update={"checked": wrong}), tmp_path / "a")
    assert any("no column(s) ['Explanation']" in p for p in problems)
    assert any("labels ['true'] not in the checked label set" in p for p in problems)

    local = task.source.local
    assert local is not None
    overlapping = {**local.splits, "test": local.splits["test"].model_copy(update={"split": "train[20%:]"})}
    source = task.source.model_copy(update={"local": local.model_copy(update={"splits": overlapping})})
    problems = check_slices(task.model_copy(update={"source": source}), tmp_path / "b")
    assert any("do not cover it once, in order" in p for p in problems)
    assert any("in both validation and test" in p for p in problems)


def trex(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trex", *args], capture_output=True, text=True, timeout=300)


def test_bench_prepare_reads_a_source_dir(tmp_path: Path) -> None:
    task = load_bench_task("cs-bench")
    copy = tmp_path / "csbench"
    write_source_copy(task, copy)
    out = trex("bench", "prepare", "cs-bench", "--source-dir", str(copy), "--out", str(tmp_path / "out"))
    assert out.returncode == 0, out.stderr
    assert (
        not (tmp_path / "out" / "data" / "train.jsonl").exists() and "train:" not in out.stdout
    )  # none, as in the paper
    for split in ("validation", "test"):
        rows = [json.loads(line) for line in (tmp_path / "out" / "data" / f"{split}.jsonl").read_text().splitlines()]
        assert rows == prepare_rows(task, split, source_dir=copy)
        assert f"{split}: {len(rows)} rows" in out.stdout
    assert "gold answers score 1.0000" in out.stdout

    assert not (copy / "Dataset" / "CSBench-EN" / "valid.json").exists()  # the dev set is not read
    (copy / "Dataset" / "CSBench-EN" / "test.json").unlink()
    out = trex("bench", "prepare", "cs-bench", "--source-dir", str(copy), "--out", str(tmp_path / "again"))
    assert out.returncode == 2
    assert "test.json: no such file in the source copy" in out.stderr and "github.com/csbench/csbench" in out.stderr
    empty = tmp_path / "not-a-copy.txt"
    empty.write_text("")
    out = trex("bench", "prepare", "cs-bench", "--source-dir", str(empty), "--out", str(tmp_path / "third"))
    assert out.returncode == 2 and "not a folder" in out.stderr
