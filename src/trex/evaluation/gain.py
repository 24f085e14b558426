"""Normalized gain G = (S(tuned) - S(base)) / (S(ref) - S(base)): the one place of this formula; and the interval of a
gain between two scores, each with its own 95% interval (``difference_interval``).

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


def difference_interval(
    new: tuple[float, float, float], old: tuple[float, float, float]
) -> tuple[float, float, float]:
    """``new - old`` with its 95% interval, each score given as (value, low, high): the MOVER combination
    (Newcombe), d - sqrt((v1 - l1)^2 + (h2 - v2)^2) .. d + sqrt((h1 - v1)^2 + (v2 - l2)^2). It treats the two
    scores as independent; two models scored on the same rows are positively correlated, so the interval is
    conservative (wider than a paired one)."""
    (v1, l1, h1), (v2, l2, h2) = new, old
    gain = v1 - v2
    return gain, gain - ((v1 - l1) ** 2 + (h2 - v2) ** 2) ** 0.5, gain + ((h1 - v1) ** 2 + (v2 - l2) ** 2) ** 0.5
