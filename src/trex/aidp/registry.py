"""The AIDP operator registry: what an operator is, and the one table of them (``OPERATORS``).

An operator is a function ``(Dataset | None, params) -> Dataset`` registered with a name, a
category (loader, scorer, generator, filter, transform), a pydantic parameter model and its
docstring (the text ``trex aidp ops`` prints and the researcher is given). ``needs(params)``
names the input columns it reads and ``adds(params)`` / ``drops(params, columns)`` describe the
output columns, so a recipe's missing columns are found before any step runs. ``requires`` names
optional modules (with the pip extra that brings them), so a recipe using an operator whose
dependency is missing fails when it is checked, not deep inside a run. Loaders take ``None`` as
input and may ``peek`` their columns without loading the rows.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa
from datasets import Dataset
from pydantic import BaseModel, ConfigDict

Category = Literal["loader", "scorer", "generator", "filter", "transform"]


class OperatorError(ValueError):
    """An operator cannot run with these parameters on this dataset."""


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _none(p: Any) -> list[str]:
    return []


@dataclass(frozen=True)
class Operator:
    name: str
    category: Category
    params: type[Params]
    fn: Callable[[Dataset | None, Any], Dataset]
    needs: Callable[[Any], list[str]] = _none
    adds: Callable[[Any], list[str]] = _none
    output: Callable[[Any, list[str]], list[str]] | None = None  # the whole output schema, when it is not in + adds
    peek: Callable[[Any], list[str] | None] | None = None  # a loader's columns, read cheaply (None: unknown)
    requires: tuple[tuple[str, str], ...] = ()  # (module, pip extra) of optional dependencies
    starts: Callable[[Any], bool] | None = None  # a non-loader that may start a recipe with these params

    def may_start(self, p: Any) -> bool:
        """Whether a recipe may start with this step: a loader, or an operator that writes rows from nothing."""
        return self.category == "loader" or (self.starts is not None and self.starts(p))

    def missing_dependencies(self) -> list[str]:
        """The pip requirement of each optional module this operator needs and that is not installed."""
        return [extra for module, extra in self.requires if importlib.util.find_spec(module) is None]

    @property
    def doc(self) -> str:
        return (self.fn.__doc__ or "").strip()

    def columns_after(self, p: Any, columns: list[str]) -> list[str]:
        if self.output is not None:
            return self.output(p, columns)
        return [*columns, *(c for c in self.adds(p) if c not in columns)]


OPERATORS: dict[str, Operator] = {}


def operator(
    name: str,
    category: Category,
    params: type[Params],
    needs: Callable[[Any], list[str]] = _none,
    adds: Callable[[Any], list[str]] = _none,
    output: Callable[[Any, list[str]], list[str]] | None = None,
    peek: Callable[[Any], list[str] | None] | None = None,
    requires: tuple[tuple[str, str], ...] = (),
    starts: Callable[[Any], bool] | None = None,
) -> Callable:
    def register(fn: Callable) -> Callable:
        OPERATORS[name] = Operator(name, category, params, fn, needs, adds, output, peek, requires, starts)
        return fn

    return register


def need(ds: Dataset | None, name: str) -> Dataset:
    if ds is None:
        raise OperatorError(f"{name} needs an input dataset: put a loader step before it")
    return ds


def arrow_column(ds: Dataset, name: str) -> pa.ChunkedArray | pa.Array:
    """A column as Arrow, following the dataset's row selection (its indices mapping) when it has one."""
    if ds._indices is None:  # noqa: SLF001 (datasets keeps a selection as an indices table)
        return ds.data.table.column(name)
    return ds.with_format("arrow")[name]


def need_columns(ds: Dataset, columns: list[str], name: str) -> None:
    missing = [c for c in columns if c not in ds.column_names]
    if missing:
        raise OperatorError(f"{name}: column(s) {missing} not in dataset (columns: {ds.column_names})")
