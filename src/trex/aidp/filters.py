"""AIDP row selection: by a safe predicate, by a score column, at random (seeded), and the sample cap.

Every operator here keeps a subset of the input rows in their original order and adds no column.
``select_by_filter`` takes an expression of ``trex.aidp.expressions`` (no ``eval``), or code
defining ``keep(row)`` that runs only in ``trex.sandbox.runner``. ``select_by_score`` keeps the
top k, the top fraction, or the rows on one side of a threshold of a numeric column; rows without
a score (None or NaN) never pass.
"""

from __future__ import annotations

import ast
from typing import Literal

import numpy as np
import pyarrow.compute as pc
from datasets import Dataset
from pydantic import Field, model_validator

from trex.aidp.expressions import compile_predicate, referenced_columns
from trex.aidp.registry import OperatorError, Params, arrow_column, need, need_columns, operator


class FilterParams(Params):
    expression: str | None = Field(
        default=None, description="safe expression over columns, e.g. \"len(text) >= 20 and label != 'plot'\""
    )
    code: str | None = Field(
        default=None, description="Python defining keep(row) -> bool; runs only in the sandbox (standard library)"
    )

    @model_validator(mode="after")
    def _one_rule(self) -> FilterParams:
        if (self.expression is None) == (self.code is None):
            raise ValueError("give exactly one of expression or code")
        if self.expression is not None:  # forbidden syntax is refused with the recipe, before any data loads
            compile_predicate(self.expression, referenced_columns(self.expression))
        if self.code is not None:
            try:
                tree = ast.parse(self.code)
            except SyntaxError as exc:
                raise ValueError(f"code: line {exc.lineno}: {exc.msg}") from None
            if not any(isinstance(n, ast.FunctionDef) and n.name == "keep" for n in tree.body):
                raise ValueError("code must define a function keep(row) at the top level")
        return self


def _filter_needs(p: FilterParams) -> list[str]:
    return referenced_columns(p.expression) if p.expression is not None else []


@operator("select_by_filter", "filter", FilterParams, needs=_filter_needs)
def select_by_filter(ds: Dataset | None, p: FilterParams) -> Dataset:
    """Keep rows for which a safe Python-like expression over the row's columns is true, or for which
    keep(row) of custom code is true (that code runs in the sandbox: no network, no files outside it)."""
    ds = need(ds, "select_by_filter")
    if p.code is not None:
        from trex.sandbox.runner import Sandbox, SandboxError

        try:
            kept = Sandbox().map_rows(p.code, "keep", ds.to_list())
        except SandboxError as exc:
            raise OperatorError(f"select_by_filter: {exc}") from exc
        return ds.select([i for i, keep in enumerate(kept) if keep])
    predicate = compile_predicate(p.expression or "", ds.column_names)
    names = referenced_columns(p.expression)
    mask = predicate.mask({name: arrow_column(ds, name) for name in names}) if names else None
    if mask is not None:
        return ds.select(np.flatnonzero(mask))
    return ds.filter(lambda batch: predicate.batch(batch), batched=True)


class ScoreParams(Params):
    column: str = Field(description="a numeric column, e.g. perplexity or llm_score")
    top_k: int | None = Field(default=None, ge=0, description="keep this many best rows")
    top_p: float | None = Field(default=None, gt=0, le=1, description="keep this fraction of best rows")
    threshold: float | None = Field(default=None, description="keep rows whose score is on the good side of this")
    keep: Literal["highest", "lowest"] = Field(default="highest", description="which end is best (perplexity: lowest)")

    @model_validator(mode="after")
    def _one_rule(self) -> ScoreParams:
        rules = [r for r in (self.top_k, self.top_p, self.threshold) if r is not None]
        if len(rules) != 1:
            raise ValueError("give exactly one of top_k, top_p or threshold")
        return self


@operator("select_by_score", "filter", ScoreParams, needs=lambda p: [p.column])
def select_by_score(ds: Dataset | None, p: ScoreParams) -> Dataset:
    """Keep the best rows by a score column: top_k rows, the top_p fraction, or those past a threshold."""
    ds = need(ds, "select_by_score")
    need_columns(ds, [p.column], "select_by_score")
    try:
        scores = pc.cast(arrow_column(ds, p.column), "float64").to_numpy(zero_copy_only=False)
    except (ValueError, TypeError) as exc:
        raise OperatorError(f"select_by_score: column {p.column!r} is not numeric ({exc})") from exc
    scores = np.where(np.isnan(scores), np.nan, scores if p.keep == "highest" else -scores)
    valid = np.flatnonzero(~np.isnan(scores))
    if p.threshold is not None:
        bound = p.threshold if p.keep == "highest" else -p.threshold
        return ds.select(valid[scores[valid] >= bound])
    k = p.top_k if p.top_k is not None else int(round(len(ds) * (p.top_p or 0.0)))
    best = valid[np.argsort(-scores[valid], kind="stable")[:k]]
    return ds.select(np.sort(best))


class RandomParams(Params):
    n: int | None = Field(default=None, ge=0, description="number of rows to keep")
    fraction: float | None = Field(default=None, gt=0, le=1)
    seed: int = 0
    stratify_by: str | None = Field(default=None, description="column whose values get equal shares")


@operator(
    "select_by_random", "filter", RandomParams, needs=lambda p: [p.stratify_by] if p.stratify_by is not None else []
)
def select_by_random(ds: Dataset | None, p: RandomParams) -> Dataset:
    """Keep a seeded random sample of n rows (or a fraction); optionally equal shares per value of a column."""
    ds = need(ds, "select_by_random")
    n = p.n if p.n is not None else round(len(ds) * (p.fraction or 1.0))
    rng = np.random.default_rng(p.seed)
    if p.stratify_by is None:
        order = rng.permutation(len(ds))[: min(n, len(ds))]
        return ds.select(np.sort(order))
    need_columns(ds, [p.stratify_by], "select_by_random")
    values = np.asarray(ds[p.stratify_by])
    groups = sorted(set(values.tolist()))
    share = n // max(1, len(groups))
    picked = [rng.permutation(np.flatnonzero(values == g))[:share] for g in groups]
    return ds.select(np.sort(np.concatenate(picked)) if picked else [])


class CapParams(Params):
    max_samples: int = Field(ge=1)


@operator("cap_samples", "filter", CapParams)
def cap_samples(ds: Dataset | None, p: CapParams) -> Dataset:
    """Keep at most max_samples rows (the first ones): the task's training-sample limit."""
    ds = need(ds, "cap_samples")
    return ds.select(range(min(len(ds), p.max_samples)))
