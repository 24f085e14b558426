"""Metrics against hand-computed values; bootstrap intervals reproducible and around the value."""

from __future__ import annotations

import pytest

from trex.evaluation.diagnostics import diagnose
from trex.evaluation.metrics import accuracy, macro_f1, score_with_interval


def test_accuracy_normalizes_answers() -> None:
    assert accuracy(["Fresh", " rotten ", "fresh"], ["fresh", "rotten", "rotten"]) == pytest.approx(2 / 3)
    assert accuracy([], []) == 0.0


def test_macro_f1_by_hand() -> None:
    # a: tp=1 fp=1 fn=1 -> 2/4 = 0.5; b: tp=1 fp=1 fn=1 -> 0.5; c: tp=1 fp=0 fn=0 -> 1.0  => mean 2/3
    preds = ["a", "b", "b", "a", "c"]
    refs = ["a", "a", "b", "b", "c"]
    assert macro_f1(preds, refs) == pytest.approx(2 / 3)


def test_interval_is_seeded_and_brackets_the_value() -> None:
    preds = ["x"] * 70 + ["y"] * 30
    refs = ["x"] * 100
    first = score_with_interval("accuracy", preds, refs)
    assert first == score_with_interval("accuracy", preds, refs)
    assert first.value == pytest.approx(0.7)
    assert first.low < 0.7 < first.high
    assert first.low > 0.6 and first.high < 0.8  # binomial sd ~0.046: 95% interval about +-0.09
    assert first.n == 100


def test_diagnosis_error_rates() -> None:
    d = diagnose(["a", "bb", "ccc", "dddd"], ["x", "x", "x", "y"], ["x", "y", "y", "y"])
    assert d.error_rate_by_label == {"x": 0.0, "y": pytest.approx(2 / 3)}
    assert d.predicted_share == {"x": 0.75, "y": 0.25}
    assert d.confusion["y"] == {"x": 2, "y": 1}
    assert set(d.error_rate_by_length) == {"short", "medium", "long"}
