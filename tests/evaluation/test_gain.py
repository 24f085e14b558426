"""The normalized gain formula by hand, and its refusal of a reference equal to the base."""

from __future__ import annotations

import pytest

from trex.evaluation.gain import GainError, normalized_gain


def test_gain_by_hand() -> None:
    assert normalized_gain(0.8, 0.6, 0.9) == pytest.approx(2 / 3)
    assert normalized_gain(0.6, 0.6, 0.9) == 0.0
    assert normalized_gain(0.5, 0.6, 0.9) == pytest.approx(-1 / 3)
    assert normalized_gain(0.95, 0.6, 0.9) == pytest.approx(7 / 6)


def test_reference_equal_to_base_is_refused() -> None:
    with pytest.raises(GainError, match="undefined"):
        normalized_gain(0.8, 0.7, 0.7)
