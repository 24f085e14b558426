"""AIDP operators: each a function ``(Dataset | None, params) -> Dataset`` with a pydantic schema.

Operators are registered in ``OPERATORS`` by name with their category, parameter model and
docstring (the text the researcher is given). They are deterministic given their parameters
(random selection is seeded) and never touch agents, training or the network.
Loaders take ``None`` as input; every other operator needs a dataset.
"""

from __future__ import annotations

import glob
import hashlib
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from datasets import Dataset, load_dataset
from pydantic import BaseModel, ConfigDict, Field

from trex.aidp.expressions import compile_predicate
from trex.assets import resolve_data


class OperatorError(ValueError):
    """An operator cannot run with these parameters on this dataset."""


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Operator:
    name: str
    category: Literal["loader", "scorer", "generator", "filter", "transform"]
    params: type[Params]
    fn: Callable[[Dataset | None, Any], Dataset]

    @property
    def doc(self) -> str:
        return (self.fn.__doc__ or "").strip()


OPERATORS: dict[str, Operator] = {}


def operator(name: str, category: str, params: type[Params]) -> Callable:
    def register(fn: Callable) -> Callable:
        OPERATORS[name] = Operator(name, category, params, fn)  # type: ignore[arg-type]
        return fn

    return register


def _need(ds: Dataset | None, name: str) -> Dataset:
    if ds is None:
        raise OperatorError(f"{name} needs an input dataset: put a loader step before it")
    return ds


def _need_columns(ds: Dataset, columns: list[str], name: str) -> None:
    missing = [c for c in columns if c not in ds.column_names]
    if missing:
        raise OperatorError(f"{name}: column(s) {missing} not in dataset (columns: {ds.column_names})")


class LoadLocalParams(Params):
    path: str = Field(description="file path, glob, or embedded:DATASET/SPLIT")
    format: Literal["auto", "json", "csv", "parquet", "arrow"] = "auto"


_SUFFIX_FORMAT = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet", ".arrow": "arrow"}


@operator("load_local_dataset", "loader", LoadLocalParams)
def load_local_dataset(ds: Dataset | None, p: LoadLocalParams) -> Dataset:
    """Load rows from a local JSONL/JSON/CSV/Parquet/Arrow file (compressed .gz/.bz2/.xz/.zst too)."""
    path = resolve_data(p.path)
    fmt = p.format
    if fmt == "auto":
        suffixes = [s for s in Path(path).suffixes if s not in (".gz", ".bz2", ".xz", ".zst")]
        fmt = _SUFFIX_FORMAT.get(suffixes[-1] if suffixes else "", "")
        if not fmt:
            raise OperatorError(f"load_local_dataset: cannot tell the format of {path!r}; set 'format'")
    if not glob.glob(path):
        raise OperatorError(f"load_local_dataset: no file at {path!r}")
    return load_dataset(fmt, data_files=path, split="train")


class DedupParams(Params):
    column: str = "text"
    normalize: bool = Field(default=True, description="compare lowercased, whitespace-collapsed text")


def _text_hash(text: str, normalize: bool) -> bytes:
    if normalize:
        text = " ".join(str(text).lower().split())
    return hashlib.blake2b(str(text).encode("utf-8"), digest_size=8).digest()


@operator("deduplicate_by_text_hash", "filter", DedupParams)
def deduplicate_by_text_hash(ds: Dataset | None, p: DedupParams) -> Dataset:
    """Keep the first row of each group of rows whose text is equal (after normalization)."""
    ds = _need(ds, "deduplicate_by_text_hash")
    _need_columns(ds, [p.column], "deduplicate_by_text_hash")
    keys = np.frombuffer(b"".join(_text_hash(t, p.normalize) for t in ds[p.column]), dtype=np.uint64)
    _, first = np.unique(keys, return_index=True)
    return ds.select(np.sort(first))


class FilterParams(Params):
    expression: str = Field(description="safe expression over columns, e.g. \"len(text) >= 20 and label != 'plot'\"")


@operator("select_by_filter", "filter", FilterParams)
def select_by_filter(ds: Dataset | None, p: FilterParams) -> Dataset:
    """Keep rows for which a safe Python-like expression over the row's columns is true."""
    ds = _need(ds, "select_by_filter")
    predicate = compile_predicate(p.expression, ds.column_names)
    return ds.filter(lambda batch: predicate.batch(batch), batched=True)


class RandomParams(Params):
    n: int | None = Field(default=None, ge=0, description="number of rows to keep")
    fraction: float | None = Field(default=None, gt=0, le=1)
    seed: int = 0
    stratify_by: str | None = Field(default=None, description="column whose values get equal shares")


@operator("select_by_random", "filter", RandomParams)
def select_by_random(ds: Dataset | None, p: RandomParams) -> Dataset:
    """Keep a seeded random sample of n rows (or a fraction); optionally equal shares per value of a column."""
    ds = _need(ds, "select_by_random")
    n = p.n if p.n is not None else round(len(ds) * (p.fraction or 1.0))
    rng = np.random.default_rng(p.seed)
    if p.stratify_by is None:
        order = rng.permutation(len(ds))[: min(n, len(ds))]
        return ds.select(np.sort(order))
    _need_columns(ds, [p.stratify_by], "select_by_random")
    values = np.asarray(ds[p.stratify_by])
    groups = sorted(set(values.tolist()))
    share = n // max(1, len(groups))
    picked = [rng.permutation(np.flatnonzero(values == g))[:share] for g in groups]
    return ds.select(np.sort(np.concatenate(picked)) if picked else [])


class FormatParams(Params):
    prompt_template: str = Field(description="format string over columns, e.g. 'Review: {text}\\nAnswer:'")
    completion_template: str = Field(description="format string over columns, e.g. ' {label}'")
    label_map: dict[str, str] | None = Field(
        default=None, description="replace the 'label' field by this mapping before formatting"
    )
    label_field: str = "label"


def _fields(template: str) -> list[str]:
    return [f for _, f, _, _ in string.Formatter().parse(template) if f]


@operator("format_for_training", "transform", FormatParams)
def format_for_training(ds: Dataset | None, p: FormatParams) -> Dataset:
    """Turn rows into prompt/completion pairs from two templates (what SFT trains on)."""
    ds = _need(ds, "format_for_training")
    _need_columns(ds, _fields(p.prompt_template) + _fields(p.completion_template), "format_for_training")

    def fmt(row: dict[str, Any]) -> dict[str, str]:
        values = dict(row)
        if p.label_map is not None and p.label_field in values:
            values[p.label_field] = p.label_map.get(str(values[p.label_field]), values[p.label_field])
        return {"prompt": p.prompt_template.format(**values), "completion": p.completion_template.format(**values)}

    return ds.map(fmt, remove_columns=ds.column_names)


class CapParams(Params):
    max_samples: int = Field(ge=1)


@operator("cap_samples", "filter", CapParams)
def cap_samples(ds: Dataset | None, p: CapParams) -> Dataset:
    """Keep at most max_samples rows (the first ones): the task's training-sample limit."""
    ds = _need(ds, "cap_samples")
    return ds.select(range(min(len(ds), p.max_samples)))


class RecombineParams(Params):
    column: str = "text"
    group_by: str = Field(default="label", description="rows are recombined only within a value of this column")
    copies: int = Field(default=1, ge=1, le=10, description="synthetic rows per original row")
    seed: int = 0


def _halves(text: str) -> tuple[str, str]:
    words = str(text).split()
    cut = next((i + 1 for i, w in enumerate(words) if i >= len(words) // 3 and w[-1:] in ",;:.!?"), len(words) // 2)
    return " ".join(words[:cut]), " ".join(words[cut:])


@operator("augment_by_recombination", "generator", RecombineParams)
def augment_by_recombination(ds: Dataset | None, p: RecombineParams) -> Dataset:
    """Add synthetic rows: the first part of one row's text joined to the rest of another row with the same
    group value (label-preserving recombination, no LLM); originals are kept, synthetic rows get synthetic=True."""
    ds = _need(ds, "augment_by_recombination")
    _need_columns(ds, [p.column, p.group_by], "augment_by_recombination")
    rng = np.random.default_rng(p.seed)
    rows = ds.to_list()
    groups: dict[Any, list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(row[p.group_by], []).append(i)
    extra = []
    for _ in range(p.copies):
        for row in rows:
            partner = rows[int(rng.choice(groups[row[p.group_by]]))]
            head, _ = _halves(row[p.column])
            _, tail = _halves(partner[p.column])
            extra.append({**row, p.column: f"{head} {tail}".strip()})
    out = [{**r, "synthetic": False} for r in rows] + [{**r, "synthetic": True} for r in extra]
    return Dataset.from_list(out)
