"""The data check: a task's train, validation and test files checked before any job starts.

``check_task_data`` is called by ``trex run``, ``trex resume``, ``trex aidp run`` and ``trex bench run``
before a workspace is touched or a model loaded. It reads every row once (CSV, JSONL, JSON,
Parquet; compressed too) and raises ``DataError`` with ``file:line`` at the first problem:

- the file exists, is readable and parses (the first bad line);
- it decodes in its declared encoding (UTF-8 by default); the error gives the line and byte
  offset, and charset-normalizer's guess as a *suggestion* only;
- it has rows, and the columns the task names (input, label, group, every ``prompt_template``
  placeholder), else the columns found and the closest match;
- in ``choices`` mode, every validation and test label is one of the choices (the first
  offending row, and the labels found);
- validation and test are not the same file and share at most 1% of their inputs, unless the
  task says ``allow_overlap: true``;
- some training row fits ``training.max_length`` tokens of the base model's tokenizer
  (``trex.task.lengths``: the template and the rows measured, the tokenizer loaded offline).

With ``eval.split`` the three splits are drawn from one file (``splits_of``) and checked the same way.
It does not check what a recipe does to the rows: the recipe runner reports the step that empties a split.
"""

from __future__ import annotations

import difflib
import glob
import string
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from trex.task.datafiles import DataError, Rows, read_rows, split_rows
from trex.task.lengths import check_lengths

if TYPE_CHECKING:
    from trex.task.spec import TaskSpec

OVERLAP_LIMIT = 0.01  # shared inputs above this fraction of the smaller split are refused


@dataclass(frozen=True)
class DataSummary:
    """What the check read: rows per split and the seconds it took."""

    rows: dict[str, int]
    seconds: float


def _local(path: str) -> list[str]:
    """The local files behind a data reference (``embedded:`` resolved; a glob expanded)."""
    from trex.assets import resolve_data

    resolved = resolve_data(path)
    if any(c in resolved for c in "*?["):
        found = sorted(glob.glob(resolved))
        if not found:
            raise DataError(f"{path}: no file matches this pattern")
        return found
    return [resolved]


def read_data(path: str, encoding: str = "utf-8") -> Rows:
    """Rows of a data reference: a file, a glob (merged) or embedded:NAME/SPLIT."""
    files = _local(path)
    parts = [read_rows(f, encoding) for f in files]
    if len(parts) == 1:
        return parts[0]
    merged = Rows(path, list(dict.fromkeys(c for p in parts for c in p.columns)))
    for part in parts:
        merged.rows += part.rows
        merged.lines += part.lines
    return merged


def splits_of(task: TaskSpec) -> dict[str, Rows]:
    """The rows of train (when the task has training data), validation and test, as the jobs will see them."""
    enc = task.data_encodings
    if task.eval_split is not None:
        spec = task.eval_split
        whole = read_data(spec.from_, spec.encoding)
        if spec.validation + spec.test >= len(whole.rows):
            raise DataError(
                f"{spec.from_}: {len(whole.rows)} rows cannot give {spec.validation} validation and {spec.test} "
                "test rows and leave any for training (eval.split)"
            )
        label = task.eval.label_field if spec.stratify and task.eval.label_field in whole.columns else None
        parts = split_rows(whole.rows, spec.validation, spec.test, spec.seed, label)
        out = {
            name: Rows(f"{spec.from_} ({name} split)", whole.columns, [whole.rows[i] for i in idx],
                       [whole.lines[i] for i in idx])
            for name, idx in parts.items()
        }  # fmt: skip
        if task.train_data is not None:
            out["train"] = read_data(task.train_data, enc.get(task.train_data, "utf-8"))
        return out
    out = {}
    if task.train_data is not None:
        out["train"] = read_data(task.train_data, enc.get(task.train_data, "utf-8"))
    for name in ("validation", "test"):
        ref = getattr(task.eval, name)
        out[name] = read_data(ref, enc.get(ref, "utf-8"))
    return out


def placeholders(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def _columns(rows: Rows, needed: dict[str, str], task_file: str) -> None:
    for column, role in needed.items():
        if column in rows.columns:
            continue
        close = difflib.get_close_matches(column, rows.columns, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        found = ", ".join(rows.columns) or "none"
        if role == "placeholder":
            raise DataError(
                f"{task_file}: eval.prompt_template: placeholder {{{column}}} is no column of {rows.path} "
                f"(columns: {found}{hint})"
            )
        raise DataError(f"{rows.path}: no column {column!r} ({role}); columns found: {found}{hint}")


def _labels(rows: Rows, label_field: str, choices: dict[str, str]) -> None:
    for row, line in zip(rows.rows, rows.lines, strict=True):
        label = row.get(label_field)
        if str(label) not in choices:
            found = sorted({str(r.get(label_field)) for r in rows.rows})
            shown = ", ".join(found[:20]) + (", ..." if len(found) > 20 else "")
            raise DataError(
                f"{rows.path}:{line}: label {label!r} is not one of the choices ({', '.join(choices)}); "
                f"labels found: {shown}"
            )


def _overlap(validation: Rows, test: Rows, input_field: str) -> None:
    same = Path(validation.path).exists() and Path(validation.path).resolve() == Path(test.path).resolve()
    if same:
        raise DataError(
            f"{test.path}: validation and test are the same file: the test score would not be held out "
            "(set allow_overlap: true to allow it)"
        )
    inputs = {str(r.get(input_field, "")).strip() for r in validation.rows}
    shared = sum(str(r.get(input_field, "")).strip() in inputs for r in test.rows)
    smaller = min(len(validation.rows), len(test.rows)) or 1
    if shared / smaller > OVERLAP_LIMIT:
        raise DataError(
            f"{test.path}: {shared} of its {len(test.rows)} inputs are also in {validation.path} "
            f"({shared / smaller:.0%}, above {OVERLAP_LIMIT:.0%}); set allow_overlap: true to allow it"
        )


def check_rows(task: TaskSpec, splits: dict[str, Rows], task_file: str = "task") -> None:
    """The checks of the module docstring on rows already read."""
    cfg = task.eval
    for name, rows in splits.items():
        if not rows.rows:
            raise DataError(f"{rows.path}: no rows ({name} split; only a header or blank lines)")
        needed = {cfg.input_field: "eval.input_field", cfg.label_field: "eval.label_field"}
        if name != "train" and cfg.group_field:
            needed[cfg.group_field] = "eval.group_field"
        for column in placeholders(cfg.prompt_template):
            needed.setdefault(column, "placeholder")
        _columns(rows, needed, task_file)
        if name != "train" and cfg.mode == "choices" and cfg.choices:
            _labels(rows, cfg.label_field, cfg.choices)
    if not task.allow_overlap and "validation" in splits and "test" in splits:
        _overlap(splits["validation"], splits["test"], cfg.input_field)
    check_lengths(task, splits.get("train"), task_file)


def check_task_data(task: TaskSpec, task_file: str | Path = "task") -> DataSummary:
    """Read and check every data file of the task; raise DataError naming the file and line of the first problem."""
    start = time.perf_counter()
    splits = splits_of(task)
    check_rows(task, splits, str(task_file))
    return DataSummary({name: len(rows.rows) for name, rows in splits.items()}, time.perf_counter() - start)
