"""Task metrics over (prediction, reference) pairs, each with a seeded bootstrap 95% interval.

One function per metric, registered in ``METRICS``; ``score_with_interval`` is the one place
that turns predictions into a reported score. Predictions and references are compared as
normalized strings (stripped, lowercased, inner whitespace collapsed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from pydantic import BaseModel

Metric = Callable[[Sequence[str], Sequence[str]], float]


def normalize_answer(text: str) -> str:
    return " ".join(str(text).lower().split())


def accuracy(predictions: Sequence[str], references: Sequence[str]) -> float:
    if not references:
        return 0.0
    hits = sum(normalize_answer(p) == normalize_answer(r) for p, r in zip(predictions, references, strict=True))
    return hits / len(references)


def macro_f1(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Mean over reference labels of per-label F1 (labels never referenced but predicted count as 0)."""
    preds = [normalize_answer(p) for p in predictions]
    refs = [normalize_answer(r) for r in references]
    labels = sorted(set(refs) | set(preds))
    if not labels:
        return 0.0
    scores = []
    for label in labels:
        tp = sum(p == label and r == label for p, r in zip(preds, refs, strict=True))
        fp = sum(p == label and r != label for p, r in zip(preds, refs, strict=True))
        fn = sum(p != label and r == label for p, r in zip(preds, refs, strict=True))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores))


METRICS: dict[str, Metric] = {"accuracy": accuracy, "exact_match": accuracy, "macro_f1": macro_f1}


class Score(BaseModel):
    value: float
    low: float
    high: float
    n: int


def score_with_interval(
    metric: str, predictions: Sequence[str], references: Sequence[str], resamples: int = 1000, seed: int = 0
) -> Score:
    """The metric and its percentile bootstrap 95% interval over examples (seeded, so reproducible)."""
    fn = METRICS[metric]
    value = fn(predictions, references)
    n = len(references)
    if n == 0:
        return Score(value=0.0, low=0.0, high=0.0, n=0)
    rng = np.random.default_rng(seed)
    preds, refs = list(predictions), list(references)
    samples = []
    for _ in range(resamples):
        idx = rng.integers(0, n, n)
        samples.append(fn([preds[i] for i in idx], [refs[i] for i in idx]))
    low, high = np.percentile(samples, [2.5, 97.5])
    return Score(value=value, low=float(low), high=float(high), n=n)
