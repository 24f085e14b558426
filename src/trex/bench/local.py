"""Read an FT-Bench task's source rows from a local copy of its source (``--source-dir``).

The copy has the layout of the repository named in the task's ``source.local.repo`` (a git clone,
an unpacked snapshot or release archive). Each trex split names files relative to the copy's root
and a split expression in Hugging Face's slicing syntax (``train[:40%]``, ``train[200:250]``), which
is applied to the rows of each file separately (so every sub-task is cut the same way). Files are
read by their suffix: ``.json`` (a list, an object holding the list under ``field``, or an object of
rows keyed by id), ``.jsonl``, ``.csv`` and ``.tsv``; a ``.json`` file that holds JSON lines is read
as JSON lines. Non-tabular layouts have a named reader (``READERS``). Nothing here touches a network.
A missing file stops with a ``SourceError`` naming the path and the layout expected.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trex.bench.sources import SourceError
from trex.bench.spec import BenchTask, SplitName, SplitSource

Rows = list[dict[str, Any]]
_SLICE = re.compile(r"^(?P<name>[\w-]+)(?:\[(?P<start>-?\d+%?)?:(?P<end>-?\d+%?)?\])?$")


def _bound(text: str | None, n: int, default: int) -> int:
    if text is None:
        return default
    if text.endswith("%"):
        return int(round(n * int(text[:-1]) / 100))  # datasets' "closest" rounding of percent slices
    value = int(text)
    return value + n if value < 0 else min(value, n)


def slice_rows(rows: Rows, expression: str) -> Rows:
    """Apply a split expression's slice (``name[a:b]``, percents allowed, parts joined by '+') to rows."""
    out: Rows = []
    for part in expression.split("+"):
        match = _SLICE.match(part.strip())
        if match is None:
            raise SourceError(f"split expression {expression!r}: cannot read {part!r}")
        n = len(rows)
        out.extend(rows[_bound(match["start"], n, 0) : _bound(match["end"], n, n)])
    return out


def read_file(path: Path, field: str | None = None) -> Rows:
    """The rows of one data file (see the module docstring for the formats)."""
    if not path.is_file():
        raise SourceError(f"{path}: no such file in the source copy")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        with path.open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle, delimiter="\t" if suffix == ".tsv" else ","))
    text = path.read_text(encoding="utf-8")
    if suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    try:
        data = json.loads(text)
    except json.JSONDecodeError:  # CS-Bench's data/*.json hold JSON lines
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if field is not None:
        data = data[field]
    if isinstance(data, dict):  # rows keyed by id, as GTA's dataset.json
        return [{"id": key, **value} for key, value in data.items()]
    return list(data)


def _hoc_documents(root: Path, spec: SplitSource) -> Rows:
    """sb895/Hallmarks-of-Cancer: one row per abstract (text/PMID, labels/PMID), the hallmarks of all sentences.

    A sentence's labels are '<'-separated in the labels file, each 'Hallmark--sub-class AND ...', or
    empty/NULL; an abstract gets the set of top-level hallmarks (lower-cased) of its sentences, as BLURB
    builds the document-level task. Documents are split by a hash of the PMID (``split`` is then
    ``hash[a:b]`` over [0, 100)), since BLURB's PMID lists are not in the repository.
    """
    out: Rows = []
    for label_file in sorted((root / "labels").iterdir()):
        pmid = label_file.name.split(".")[0]
        bucket = int(hashlib.sha256(pmid.encode()).hexdigest(), 16) % 100
        match = _SLICE.match(spec.split)
        if match is None or not (_bound(match["start"], 100, 0) <= bucket < _bound(match["end"], 100, 100)):
            continue
        text = (root / "text" / label_file.name).read_text(encoding="utf-8").strip("\n")
        labels: set[str] = set()
        for sentence in label_file.read_text(encoding="utf-8").strip("\n").split("<")[1:]:
            for item in sentence.strip().split("AND"):
                name = item.split("--")[0].strip().lower()
                if name and name != "null":
                    labels.add(name)
        out.append({"document_id": pmid, "text": " ".join(text.split("\n")), "label": sorted(labels)})
    return out


READERS: dict[str, Callable[[Path, SplitSource], Rows]] = {"hoc_documents": _hoc_documents}


def read_local_split(task: BenchTask, split: SplitName, root: Path) -> Rows:
    """A trex split's source rows from the local copy at ``root``, each tagged with its file's group."""
    local = task.source.local
    if not root.is_dir():
        raise SourceError(f"{root}: not a folder (a copy of the task's source was expected)")
    if local is None:  # a clone of the Hub dataset repository: datasets reads its data files
        from datasets import load_dataset

        hub = task.source.splits[split]
        try:
            ds = load_dataset(str(root), hub.config or task.source.config, split=hub.split)
        except Exception as exc:  # a missing file or split: one clear line
            raise SourceError(f"{root} ({split} = {hub.split!r}): {type(exc).__name__}: {exc}") from exc
        return ds.to_list()
    spec = local.splits[split]
    if local.reader is not None:
        return READERS[local.reader](root, spec)
    rows: Rows = []
    for group, relative in (spec.files or {}).items():
        try:
            part = slice_rows(read_file(root / relative, spec.field), spec.split)
        except SourceError as exc:
            raise SourceError(f"{exc} (expected the layout of github.com/{local.repo})") from exc
        rows.extend({**row, "group": group} for row in part)
    return rows
