"""The one definition of a node's best config, used by the verdict, warm starts, export, replay and the report.

A candidate is a trained config that finished with a validation score (the untrained baseline of the
root is a reference, never a config). The best has the highest validation score; scores equal up to
floating-point error tie, and ties (common at chance level) go to the config that fit its training
data best (the lower final training loss), then to the earlier config of the plan. The rule is
deterministic, so every reader of a node picks the same config.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
SCORE_DECIMALS = 9  # validation scores equal to 9 decimals are a tie (means of a few hundred 0/1 scores)


def best_config(
    candidates: Sequence[T], val_score: Callable[[T], float | None], last_loss: Callable[[T], float | None]
) -> T | None:
    """The best of ``candidates`` by validation score, then lower final loss, then plan order; None if none scored."""
    scored = [(i, c, val_score(c)) for i, c in enumerate(candidates)]
    scored = [(i, c, v) for i, c, v in scored if v is not None and not math.isnan(v)]
    if not scored:
        return None

    def key(item: tuple[int, T, float]) -> tuple[float, float, int]:
        index, candidate, value = item
        loss = last_loss(candidate)
        return (round(value, SCORE_DECIMALS), -(loss if loss is not None else math.inf), -index)

    return max(scored, key=key)[1]
