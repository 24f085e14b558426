"""A custom metric that counts how often its per-example score runs (for the bootstrap test)."""

from __future__ import annotations

from collections.abc import Sequence

CALLS = {"example": 0}


def overlap(prediction: str, reference: str) -> float:
    CALLS["example"] += 1
    a, b = set(prediction.split()), set(reference.split())
    return len(a & b) / len(a | b) if a | b else 1.0


def mean_overlap(predictions: Sequence[str], references: Sequence[str]) -> float:
    return sum(overlap(p, r) for p, r in zip(predictions, references, strict=True)) / max(1, len(references))


mean_overlap.example = overlap
mean_overlap.mean_of_examples = True
mean_overlap.exact = False
