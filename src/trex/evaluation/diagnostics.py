"""Diagnostics without an LLM: where a model's validation errors are.

Computed from validation predictions only (never test). The heuristic researcher acts on them
(e.g. one label's error rate far above the others' suggests rebalancing) and the report shows
them. Numbers only: no judgement is made here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel

from trex.evaluation.metrics import normalize_answer


class Diagnosis(BaseModel):
    n: int
    error_rate_by_label: dict[str, float]
    support_by_label: dict[str, int]
    predicted_share: dict[str, float]
    confusion: dict[str, dict[str, int]]
    error_rate_by_length: dict[str, float]  # input length tercile ("short", "medium", "long") -> error rate


def diagnose(inputs: Sequence[str], predictions: Sequence[str], references: Sequence[str]) -> Diagnosis:
    preds = [normalize_answer(p) for p in predictions]
    refs = [normalize_answer(r) for r in references]
    support = Counter(refs)
    errors = Counter(r for p, r in zip(preds, refs, strict=True) if p != r)
    confusion: dict[str, dict[str, int]] = {}
    for p, r in zip(preds, refs, strict=True):
        confusion.setdefault(r, {}).setdefault(p, 0)
        confusion[r][p] += 1
    n = len(refs)
    by_length: dict[str, float] = {}
    if n:
        order = sorted(range(n), key=lambda i: len(inputs[i]))
        for name, part in zip(
            ("short", "medium", "long"),
            (order[: n // 3], order[n // 3 : 2 * n // 3], order[2 * n // 3 :]),
            strict=True,
        ):
            if part:
                by_length[name] = sum(preds[i] != refs[i] for i in part) / len(part)
    return Diagnosis(
        n=n,
        error_rate_by_label={label: errors[label] / count for label, count in sorted(support.items())},
        support_by_label=dict(sorted(support.items())),
        predicted_share={label: c / n for label, c in sorted(Counter(preds).items())} if n else {},
        confusion=confusion,
        error_rate_by_length=by_length,
    )
