"""``map_columns``: another source's rows put in a task's shape (its columns, its label names, their origin).

A dataset found elsewhere (the Hub, a file) rarely names its columns and labels as the task does:
``columns`` renames the ones kept (every other column is dropped), ``labels`` maps the label column's values
(compared as text, so a class index ``0`` maps with the key ``"0"``) onto the task's label names, and a row whose
value has no mapping is dropped (counted in the step's statistics). ``source`` writes a ``source`` column naming
where the rows came from (``hub:owner/name``), which the data statistics count.
"""

from __future__ import annotations

from typing import Any

from datasets import Dataset
from pydantic import Field

from trex.aidp.registry import OperatorError, Params, need, need_columns, operator


class MapColumnsParams(Params):
    columns: dict[str, str] = Field(
        min_length=1, description="source column -> task column, e.g. {'sentence': 'text', 'sentiment': 'label'}"
    )
    labels: dict[str, str] | None = Field(
        default=None, description="source label value (as text) -> task label; rows with another value are dropped"
    )
    label_column: str = Field(default="label", description="the task column that labels apply to")
    source: str | None = Field(default=None, description="where the rows came from, written as a 'source' column")


def _output(p: MapColumnsParams, columns: list[str]) -> list[str]:
    return [*p.columns.values(), *(["source"] if p.source else [])]


def mapped_label(p: MapColumnsParams, value: Any) -> str | None:
    """The task label a source value maps to (the value as text when there is no label mapping)."""
    text = str(value)
    return p.labels.get(text) if p.labels is not None else text


@operator("map_columns", "transform", MapColumnsParams, needs=lambda p: list(p.columns), output=_output)
def map_columns(ds: Dataset | None, p: MapColumnsParams) -> Dataset:
    """Rename a source's columns onto the task's (others dropped), map its label values onto the task's labels
    (rows without a mapping dropped) and tag every row with its source."""
    ds = need(ds, "map_columns")
    need_columns(ds, list(p.columns), "map_columns")
    if p.labels is not None and p.label_column not in p.columns.values():
        raise OperatorError(f"map_columns: labels apply to {p.label_column!r}, which no column is mapped to")
    ds = ds.select_columns(list(p.columns)).rename_columns({k: v for k, v in p.columns.items() if k != v})
    if p.labels is not None:
        ds = ds.filter(lambda row: mapped_label(p, row[p.label_column]) is not None)
        ds = ds.map(lambda row: {p.label_column: mapped_label(p, row[p.label_column])})
    if p.source:
        ds = ds.add_column("source", [p.source] * len(ds))
    return ds
