"""The packaged real slices written back as a local copy of their source, and checked against ``checked:``.

A real fixture (``meta.kind: real``, in the local layout) holds rows of the source's files, by trex
split, each tagged with its file's group. ``write_source_copy`` writes them back as the files of the
source repository (``source.local.splits``: the same paths, the same formats: a JSON list, an object
holding the list under ``field``, JSON lines, CSV/TSV), so that ``--source-dir`` reads them with
``trex.bench.local`` and prepares them with the same preparer as a real copy. Rows of a file that
several splits slice (``train[:40%]``, ``train[40%:50%]``, ...) are written in the order of the
slices, so the slices cut the written file again.

``check_slices`` compares what ``--source-dir`` makes of such a copy with the task's ``checked:``
block, recorded on the real files: the source columns of every split, the prepared columns, the
label set, and the split rules: the slices of a shared file cover it without overlap, no input is
in two splits, and where a split reads whole files its rows are the fixture's rows one for one. It
returns the problems found (empty: the slice agrees). It does not re-measure the row counts of the
real files, which the slices do not hold in full.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from trex.bench.local import _SLICE, _bound, read_local_split
from trex.bench.prepare import Rows
from trex.bench.spec import BenchTask, SplitName, fixture_meta, load_fixture


def _start(expression: str) -> int:
    """Where a split expression's slice starts, in percent of the file (for ordering the rows written)."""
    match = _SLICE.match(expression.split("+")[0].strip())
    return _bound(match["start"], 100, 0) if match else 0


def _write(path: Path, rows: Rows, field: str | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        columns = list(dict.fromkeys(k for r in rows for k in r))
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, columns, delimiter="\t" if suffix == ".tsv" else ",")
            writer.writeheader()
            writer.writerows(rows)
    elif suffix == ".jsonl":
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    else:
        path.write_text(json.dumps({field: rows} if field else rows, ensure_ascii=False), encoding="utf-8")


def write_source_copy(task: BenchTask, root: Path) -> dict[str, list[SplitName]]:
    """Write the real fixture as files in the source's layout under ``root``; return each file's splits."""
    local = task.source.local
    if local is None or local.reader is not None or fixture_meta(task.name).kind != "real":
        raise ValueError(f"{task.name}: no real fixture in a tabular local layout")
    fixture = load_fixture(task.name)
    readers: dict[str, list[SplitName]] = {}
    for split in task.splits:
        for relative in (local.splits[split].files or {}).values():
            readers.setdefault(relative, []).append(split)
    for relative, splits in readers.items():
        rows: Rows = []
        for split in sorted(splits, key=lambda s: _start(local.splits[s].split)):
            group = next(g for g, f in (local.splits[split].files or {}).items() if f == relative)
            rows += [{k: v for k, v in r.items() if k != "group"} for r in fixture[split] if r.get("group") == group]
        _write(root / relative, rows, local.splits[splits[0]].field)
    return readers


def _is_whole(expression: str) -> bool:
    match = _SLICE.match(expression)
    return match is not None and match["start"] is None and match["end"] is None and "+" not in expression


def check_slices(task: BenchTask, root: Path) -> list[str]:
    """What in the copy at ``root`` disagrees with the task's ``checked:`` block (see the module docstring)."""
    from trex.bench.run import prepare_rows

    checked, local = task.checked, task.source.local
    assert checked is not None and local is not None
    readers = write_source_copy(task, root)
    problems: list[str] = []
    raw = {split: read_local_split(task, split, root) for split in task.splits}
    prepared = {split: prepare_rows(task, split, source_dir=root) for split in task.splits}
    for split in task.splits:
        for number, row in enumerate(raw[split], start=1):
            missing = sorted(set(checked.columns.get(split, [])) - set(row))
            if missing:
                problems.append(f"{split} row {number}: no column(s) {missing} (the real files have them)")
        if checked.prepared_columns is not None:
            seen = sorted({k for r in prepared[split] for k in r})
            if seen != sorted(checked.prepared_columns):
                problems.append(f"{split}: prepared columns {seen}, checked {sorted(checked.prepared_columns)}")
        if checked.labels is not None:
            unknown = sorted({str(r["label"]) for r in prepared[split]} - set(checked.labels))
            if unknown:
                problems.append(f"{split}: labels {unknown} not in the checked label set {checked.labels}")
        if _is_whole(local.splits[split].split):  # a whole file: its rows are the slice's, one for one
            fixture_rows = prepare_rows(task, split, fixtures=True)
            if prepared[split] != fixture_rows:
                problems.append(
                    f"{split}: {len(prepared[split])} rows read from whole files, {len(fixture_rows)} in the slice"
                )
    problems += _split_rule_problems(task, root, readers, prepared)
    return problems


def _split_rule_problems(
    task: BenchTask, root: Path, readers: dict[str, list[SplitName]], prepared: dict[SplitName, Rows]
) -> list[str]:
    """The slices of each shared file tile it in order, without overlap; no prepared input is in two splits."""
    from trex.bench.local import read_file, slice_rows

    local = task.source.local
    assert local is not None
    problems = []
    for relative, splits in readers.items():
        whole = read_file(root / relative, local.splits[splits[0]].field)
        index = [{"i": i} for i in range(len(whole))]
        cut = [r["i"] for s in sorted(splits, key=lambda s: _start(local.splits[s].split))
               for r in slice_rows(index, local.splits[s].split)]  # fmt: skip
        if cut != list(range(len(whole))):
            problems.append(f"{relative}: the slices of {', '.join(splits)} do not cover it once, in order")
    inputs = {split: {str(r["input"]) for r in prepared[split]} for split in task.splits}
    for a, b in (("train", "validation"), ("train", "test"), ("validation", "test")):
        if a not in inputs:  # no training split
            continue
        if shared := inputs[a] & inputs[b]:
            problems.append(f"{len(shared)} input(s) in both {a} and {b}, e.g. {sorted(shared)[0][:60]!r}")
    return problems


def source_columns(rows: list[dict[str, Any]]) -> list[str]:
    """The columns every row has (trex's 'group' left out): what ``checked.columns`` records for a split."""
    common = set(rows[0]) if rows else set()
    for row in rows[1:]:
        common &= set(row)
    return sorted(common - {"group"})
