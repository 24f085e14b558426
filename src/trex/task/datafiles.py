"""Reading a task's data files row by row, with the line of every row, for the data check.

``read_rows`` reads CSV, JSONL, JSON (an array) and Parquet/Arrow files, plain or compressed
(.gz, .bz2, .xz), in the file's declared encoding (UTF-8 unless the task says otherwise) and
never guesses one. Every problem raises ``DataError`` whose message starts with ``path:line:``,
the way pandas and ``datasets`` name a bad line, e.g.
``data/train.csv:4: not valid UTF-8 (byte 0xe9 at byte offset 117)``. When a file does not decode,
charset-normalizer *suggests* an encoding in the message; nothing is decoded with a guess.

``split_rows`` makes the one-file split (``eval.split``): seeded, stratified by label if asked,
so the same file and seed give the same rows on every machine.
"""

from __future__ import annotations

import bz2
import csv
import glob
import gzip
import io
import json
import lzma
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

csv.field_size_limit(1 << 30)  # long documents are data, not an error


class DataError(ValueError):
    """A data file is missing, unreadable, undecodable, malformed or inconsistent with the task."""


@dataclass
class Rows:
    """The rows of one data file, each with the (1-based) line it starts on."""

    path: str
    columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)


def is_pattern(ref: str) -> bool:
    """Whether a data reference is a glob (``data/*.jsonl``) rather than one file."""
    return any(c in ref for c in "*?[")


def pattern_files(pattern: str) -> list[str]:
    """The files a glob matches, sorted, so that every machine lists them in the same order."""
    return sorted(f for f in glob.glob(pattern) if Path(f).is_file())


_COMPRESSED = {".gz": gzip.decompress, ".bz2": bz2.decompress, ".xz": lzma.decompress}


def _format(path: str) -> str:
    suffixes = [s for s in Path(path).suffixes if s not in _COMPRESSED and s != ".zst"]
    ext = suffixes[-1] if suffixes else ""
    formats = {".csv": "csv", ".jsonl": "jsonl", ".json": "json", ".parquet": "parquet", ".arrow": "arrow"}
    if ext not in formats:
        raise DataError(f"{path}: cannot tell the format from the name (use .csv, .jsonl, .json or .parquet)")
    return formats[ext]


def suggest_encoding(data: bytes) -> str | None:
    """charset-normalizer's best guess for undecodable bytes: only ever shown to the user as a hint."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:
        return None
    best = from_bytes(data[: 1 << 20]).best()
    return best.encoding if best is not None else None


def decode(data: bytes, path: str, encoding: str) -> str:
    """The file's text; a decode error names the line, the byte and its offset, and suggests an encoding."""
    try:
        return data.decode(encoding)
    except LookupError:
        raise DataError(f"{path}: unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        hint = suggest_encoding(data)
        advice = (
            f"; it looks like {hint} (charset-normalizer's guess): declare it with `encoding: {hint}`" if hint else ""
        )
        raise DataError(
            f"{path}:{line}: not valid {encoding} (byte 0x{data[exc.start]:02x} at byte offset {exc.start}){advice}"
        ) from None


def _read_bytes(path: str) -> bytes:
    p = Path(path)
    if not p.exists():
        raise DataError(f"{path}: no such file")
    if p.is_dir():
        raise DataError(f"{path}: is a folder, not a data file")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror}") from None
    for suffix, unpack in _COMPRESSED.items():
        if path.endswith(suffix):
            try:
                return unpack(data)
            except (OSError, EOFError, lzma.LZMAError, ValueError) as exc:
                raise DataError(f"{path}: not a valid {suffix} file: {exc}") from None
    return data


def _csv_rows(text: str, path: str) -> Rows:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if not header:
            raise DataError(f"{path}:1: empty file: no header and no rows")
        out = Rows(path, header)
        start = reader.line_num + 1
        for record in reader:
            if not record:  # a blank line
                start = reader.line_num + 1
                continue
            if len(record) != len(header):
                raise DataError(
                    f"{path}:{start}: expected {len(header)} fields ({', '.join(header)}), saw {len(record)}"
                )
            out.rows.append(dict(zip(header, record, strict=True)))
            out.lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DataError(f"{path}:{reader.line_num}: not valid CSV: {exc}") from None
    return out


def _jsonl_rows(text: str, path: str) -> Rows:
    out = Rows(path, [])
    seen: dict[str, None] = {}
    for number, line in enumerate(text.split("\n"), start=1):  # not splitlines: U+2028 is valid inside JSON
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise DataError(f"{path}:{number}: not valid JSON: {exc}") from None
        if not isinstance(row, dict):
            raise DataError(f"{path}:{number}: a row must be a JSON object, got {type(row).__name__}")
        seen.update(dict.fromkeys(row))
        out.rows.append(row)
        out.lines.append(number)
    out.columns = list(seen)
    return out


def _json_rows(text: str, path: str) -> Rows:
    if not text.lstrip().startswith("["):
        return _jsonl_rows(text, path)
    try:
        rows = json.loads(text)
    except ValueError as exc:
        raise DataError(f"{path}:{getattr(exc, 'lineno', 1)}: not valid JSON: {exc}") from None
    if not all(isinstance(r, dict) for r in rows):
        raise DataError(f"{path}:1: a JSON array of rows must hold objects only")
    columns = list(dict.fromkeys(k for r in rows for k in r))
    return Rows(path, columns, rows, [1] * len(rows))


def _table_rows(path: str, fmt: str) -> Rows:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path) if fmt == "parquet" else pa.ipc.open_stream(pa.memory_map(path)).read_all()
    except (OSError, pa.ArrowException) as exc:
        raise DataError(f"{path}: not a valid {fmt} file: {exc}") from None
    rows = table.to_pylist()
    return Rows(path, list(table.column_names), rows, list(range(1, len(rows) + 1)))


def read_rows(path: str, encoding: str = "utf-8") -> Rows:
    """All rows of a local data file, each with its line; raises DataError naming the file and line."""
    fmt = _format(path)
    if fmt in ("parquet", "arrow"):
        if not Path(path).exists():
            raise DataError(f"{path}: no such file")
        return _table_rows(path, fmt)
    data = _read_bytes(path)
    if not data.strip():
        raise DataError(f"{path}:1: empty file: no rows")
    text = decode(data, path, encoding).removeprefix("\ufeff")
    return {"csv": _csv_rows, "jsonl": _jsonl_rows, "json": _json_rows}[fmt](text, path)


def split_rows(
    rows: list[dict[str, Any]], validation: int, test: int, seed: int, label_field: str | None
) -> dict[str, list[int]]:
    """Row indices of train, validation and test: a seeded shuffle, stratified by ``label_field`` when given.

    Stratified: each label gets its share of validation and test (largest remainders), so the
    label mix of every split follows the file's.
    """
    rng = random.Random(seed)
    order = list(range(len(rows)))
    rng.shuffle(order)
    if label_field is None:
        return {"validation": order[:validation], "test": order[validation : validation + test],
                "train": order[validation + test :]}  # fmt: skip
    groups: dict[str, list[int]] = {}
    for i in order:
        groups.setdefault(str(rows[i].get(label_field)), []).append(i)
    out: dict[str, list[int]] = {"validation": [], "test": [], "train": []}
    taken = {name: _shares(groups, want, len(rows)) for name, want in (("validation", validation), ("test", test))}
    for label, members in groups.items():
        v, t = taken["validation"][label], taken["test"][label]
        out["validation"] += members[:v]
        out["test"] += members[v : v + t]
        out["train"] += members[v + t :]
    position = {j: k for k, j in enumerate(order)}
    for name in out:  # the shuffled order inside each split, not grouped by label
        out[name].sort(key=position.__getitem__)
    return out


def _shares(groups: dict[str, list[int]], want: int, total: int) -> dict[str, int]:
    exact = {label: want * len(m) / total for label, m in groups.items()}
    counts = {label: int(x) for label, x in exact.items()}
    for label in sorted(exact, key=lambda k: counts[k] - exact[k])[: want - sum(counts.values())]:
        counts[label] += 1
    return counts
