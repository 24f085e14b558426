"""Scores with their 95% bootstrap intervals: a metric over a split, and each example's own score.

The interval resamples examples (or, where a metric is not a mean of examples, recomputes the metric on each
resample), so every figure trex shows of a split carries how far chance alone could move it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from pydantic import BaseModel

from trex.evaluation.metrics import MetricDef, resolve_metric


class Score(BaseModel):
    value: float
    low: float
    high: float
    n: int
    groups: dict[str, float] | None = None  # per-group score when the metric is a mean over groups


Sampler = Callable[[np.ndarray], np.ndarray]


def _sampler(definition: MetricDef, preds: list[str], refs: list[str], members: list[int]) -> Sampler:
    """Rows of positions into ``members`` -> the metric on each row. A metric that is a mean of per-example
    scores scores each example once and averages rows of those scores; any other metric is recomputed."""
    if definition.mean_of_examples:
        scores = np.array([definition.example(preds[i], refs[i]) for i in members], dtype=float)
        return lambda rows: scores[rows].mean(axis=1)
    p, r = [preds[i] for i in members], [refs[i] for i in members]
    return lambda rows: np.array([definition.corpus([p[j] for j in row], [r[j] for j in row]) for row in rows])


def score_with_interval(
    metric: str,
    predictions: Sequence[str],
    references: Sequence[str],
    resamples: int = 1000,
    seed: int = 0,
    groups: Sequence[str] | None = None,
    group_metrics: dict[str, str] | None = None,
) -> Score:
    """The metric and its percentile bootstrap 95% interval over examples (seeded, so reproducible)."""
    preds, refs = [str(p) for p in predictions], [str(r) for r in references]
    n = len(refs)
    if n == 0:
        return Score(value=0.0, low=0.0, high=0.0, n=0)
    indices: dict[str, list[int]] = {}
    for i, group in enumerate(groups if groups is not None else [""] * n):
        indices.setdefault(str(group), []).append(i)
    samplers = {
        g: _sampler(resolve_metric((group_metrics or {}).get(g, metric)), preds, refs, idx)
        for g, idx in indices.items()
    }
    per_group = {g: float(samplers[g](np.arange(len(idx))[None, :])[0]) for g, idx in indices.items()}
    rng = np.random.default_rng(seed)
    draws = {g: rng.integers(0, len(idx), (resamples, len(idx))) for g, idx in indices.items()}
    samples = np.mean([samplers[g](draws[g]) for g in indices], axis=0)  # resampled within each group
    low, high = np.percentile(samples, [2.5, 97.5])
    value = float(np.mean(list(per_group.values())))
    return Score(value=value, low=float(low), high=float(high), n=n, groups=per_group if groups is not None else None)


def example_scores(
    metric: str,
    predictions: Sequence[str],
    references: Sequence[str],
    groups: Sequence[str] | None = None,
    group_metrics: dict[str, str] | None = None,
) -> tuple[list[float], list[bool]]:
    """Per-example scores in [0, 1] and which examples are bad cases."""
    names = [(group_metrics or {}).get(str(g), metric) for g in groups] if groups is not None else None
    defs = [resolve_metric(name) for name in names] if names else [resolve_metric(metric)] * len(references)
    scores = [d.example(str(p), str(r)) for d, p, r in zip(defs, predictions, references, strict=True)]
    inexact = [s for d, s in zip(defs, scores, strict=True) if not d.exact]
    cutoff = float(np.percentile(inexact, 25)) if inexact else 0.0
    bad = [s < 1.0 if d.exact else s <= cutoff for d, s in zip(defs, scores, strict=True)]
    return scores, bad
