"""Normalized gain G = (S(tuned) - S(base)) / (S(ref) - S(base)): the one place of this formula.

G is 0 for no improvement over the base model and 1 for matching the reference model. A reference
too close to the base (|S(ref) - S(base)| < ``EPSILON``) makes G meaningless: refused with an error.
"""

from __future__ import annotations

EPSILON = 1e-6


class GainError(ValueError):
    """The reference score equals the base score: the gain is undefined."""


def normalized_gain(tuned: float, base: float, reference: float, epsilon: float = EPSILON) -> float:
    if abs(reference - base) < epsilon:
        raise GainError(f"reference score {reference} equals base score {base}: normalized gain is undefined")
    return (tuned - base) / (reference - base)
