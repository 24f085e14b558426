"""AIDP loaders: local files and Hugging Face Hub datasets.

``load_local_dataset`` reads JSONL/JSON/CSV/Parquet/Arrow files (a glob, compressed .gz/.bz2/.xz/
.zst too, or ``embedded:DATASET/SPLIT``) and can name their columns without loading the rows
(``peek_local_columns``), so a recipe is checked before it runs. ``load_remote_dataset`` goes
through ``datasets.load_dataset`` with a revision and a split; without a network it fails within
seconds with a message that says the hub is unreachable, instead of hanging on retries.
"""

from __future__ import annotations

import bz2
import glob
import gzip
import json
import lzma
from pathlib import Path
from typing import IO, Literal

from datasets import Dataset, load_dataset
from pydantic import Field

from trex.aidp.registry import OperatorError, Params, operator
from trex.assets import resolve_data
from trex.assets.net import hub_dataset_url, offline, url_reachable

_SUFFIX_FORMAT = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet", ".arrow": "arrow"}
_COMPRESSED = (".gz", ".bz2", ".xz", ".zst")


class LoadLocalParams(Params):
    path: str = Field(description="file path, glob, or embedded:DATASET/SPLIT")
    format: Literal["auto", "json", "csv", "parquet", "arrow"] = "auto"
    encoding: str = Field(default="utf-8", description="text encoding of CSV/JSON files, e.g. latin-1 (never guessed)")


def _format(path: str, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    suffixes = [s for s in Path(path).suffixes if s not in _COMPRESSED]
    found = _SUFFIX_FORMAT.get(suffixes[-1] if suffixes else "", "")
    if not found:
        raise OperatorError(f"load_local_dataset: cannot tell the format of {path!r}; set 'format'")
    return found


def _open_text(path: str) -> IO[str]:
    if path.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    if path.endswith(".bz2"):
        return bz2.open(path, "rt", encoding="utf-8")
    if path.endswith(".xz"):
        return lzma.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")  # noqa: SIM115 (returned to the caller, who closes it)


def peek_local_columns(p: LoadLocalParams) -> list[str] | None:
    """The columns of the first matching file, from its first row or its schema; None when unknown."""
    path = resolve_data(p.path)
    files = sorted(glob.glob(path))
    if not files:
        raise OperatorError(f"load_local_dataset: no file at {path!r}")
    fmt, first = _format(path, p.format), files[0]
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(first).names)
        if fmt == "csv" and not first.endswith(".zst"):
            with _open_text(first) as handle:
                import csv

                return next(csv.reader(handle), None)
        if fmt == "json" and not first.endswith(".zst"):
            with _open_text(first) as handle:
                head = handle.read(1)
                if head == "[":  # a JSON array: the whole file is one document
                    return None
                line = head + handle.readline()
            row = json.loads(line)
            return list(row) if isinstance(row, dict) else None
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return None


@operator("load_local_dataset", "loader", LoadLocalParams, peek=peek_local_columns)
def load_local_dataset(ds: Dataset | None, p: LoadLocalParams) -> Dataset:
    """Load rows from local JSONL/JSON/CSV/Parquet/Arrow files (a glob; .gz/.bz2/.xz/.zst too)."""
    path = resolve_data(p.path)
    fmt = _format(path, p.format)
    if not glob.glob(path):
        raise OperatorError(f"load_local_dataset: no file at {path!r}")
    extra = {"encoding": p.encoding} if fmt in ("csv", "json") and p.encoding.lower() not in ("utf-8", "utf8") else {}
    return load_dataset(fmt, data_files=path, split="train", **extra)


class LoadRemoteParams(Params):
    name: str = Field(description="Hugging Face Hub dataset id, e.g. 'stanfordnlp/sst2'")
    config: str | None = None
    split: str = Field(default="train", description="split expression, e.g. 'train[:10%]'")
    revision: str | None = Field(default=None, description="a branch, tag or commit (pin it for reproducibility)")
    timeout_s: float = Field(default=5.0, gt=0, description="how long to wait for the hub before failing")


@operator("load_remote_dataset", "loader", LoadRemoteParams)
def load_remote_dataset(ds: Dataset | None, p: LoadRemoteParams) -> Dataset:
    """Load a dataset from the Hugging Face Hub (name, config, split, revision); fails fast when offline."""
    if offline() or not url_reachable(hub_dataset_url(p.name), p.timeout_s):
        raise OperatorError(
            f"load_remote_dataset: the Hugging Face Hub is unreachable (dataset {p.name!r}); "
            "check the network or HF_HUB_OFFLINE, or load a local copy with load_local_dataset"
        )
    try:
        return load_dataset(p.name, p.config, split=p.split, revision=p.revision)
    except Exception as exc:  # a missing dataset, config or split: one line with the cause
        raise OperatorError(f"load_remote_dataset: {p.name} ({p.split}): {type(exc).__name__}: {exc}") from exc
