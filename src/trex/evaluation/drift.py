"""A node's general-ability drift: its figure on a fixed general suite against the base model's, and the flag.

A job measures its figure (``trex.evaluation.general``) and keeps what each passage (or question) gave, so the
figure and its 95% interval can be recomputed here without the model: perplexity is exp(total negative
log-likelihood / total tokens) of the sample, accuracy the share of questions answered right, and the interval a
percentile bootstrap over passages (seeded, 1,000 resamples). The drift compares a node's best job with the base
model's job of the same run, measured once: the change is the relative rise of perplexity (value / base - 1), or
the drop of accuracy (base - value), so a positive change is a loss either way; its interval is a paired
bootstrap (the same passages resampled for both). A node is **flagged** when the change passes the task's
``max_drop`` (``trex.evaluation.config.DEFAULT_MAX_DROP`` when it names none); with ``selection: gate`` a flagged
node never becomes the run's best.

Guarantees: the same stored figures give the same drift and interval. Not guaranteed: that a flag means a lost
ability, or its absence none (perplexity on general text is a proxy; docs/trust.md). Pure: numpy and pydantic.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel

Measure = Literal["perplexity", "accuracy"]
RESAMPLES = 1000


class GeneralScore(BaseModel):
    """A job's figure on the general suite, with what each item gave and the threshold it is judged by."""

    metric: Measure
    value: float
    low: float
    high: float
    n: int
    seconds: float = 0.0  # what the check added to the job
    losses: list[float] = []  # per passage: summed negative log-likelihood; per question: 1.0 right, 0.0 wrong
    tokens: list[int] = []  # per passage: the tokens scored (perplexity only)
    max_drop: float
    gate: bool = False  # the task's ``selection: gate``


class Drift(BaseModel):
    """What ``trex status --json`` shows of a node: ``{metric, base, value, ci, flagged}`` and the change."""

    metric: Measure
    base: float
    value: float
    ci: tuple[float, float]
    flagged: bool
    change: float  # relative rise of perplexity, or drop of accuracy: positive is worse
    change_ci: tuple[float, float] | None
    max_drop: float
    gate: bool
    seconds: float = 0.0  # what the check added to the node's best job

    @property
    def note(self) -> str:
        """One line for the memory and the report."""
        shown = f"{self.change:+.1%}" if self.metric == "perplexity" else f"{-self.change:+.3f}"
        limit = f"{self.max_drop:.0%} rise" if self.metric == "perplexity" else f"{self.max_drop:.3f} drop"
        words = f"general drift: {self.metric} {self.base:.3g} -> {self.value:.3g} ({shown}; flagged past {limit}"
        return words + ("; kept from the run's best)" if self.gate else ")")


def _figures(metric: Measure, losses: np.ndarray, tokens: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The figure on each row of passage indices."""
    if metric == "accuracy":
        return losses[rows].mean(axis=1)
    return np.exp(losses[rows].sum(axis=1) / np.maximum(tokens[rows].sum(axis=1), 1))


def general_score(
    metric: Measure, losses: list[float], tokens: list[int], max_drop: float, gate: bool = False, seconds: float = 0.0
) -> GeneralScore:
    """The figure and its 95% bootstrap interval over passages."""
    n = len(losses)
    if n == 0:
        raise ValueError("the general suite scored nothing: no passage or question")
    lo, to = np.asarray(losses, dtype=float), np.asarray(tokens if metric == "perplexity" else [1] * n, dtype=float)
    value = float(_figures(metric, lo, to, np.arange(n)[None, :])[0])
    draws = np.random.default_rng(0).integers(0, n, (RESAMPLES, n))
    low, high = np.percentile(_figures(metric, lo, to, draws), [2.5, 97.5])
    return GeneralScore(metric=metric, value=value, low=float(low), high=float(high), n=n, seconds=seconds,
                        losses=list(losses), tokens=list(tokens), max_drop=max_drop, gate=gate)  # fmt: skip


def _change(metric: Measure, base: np.ndarray, value: np.ndarray) -> np.ndarray:
    return value / base - 1 if metric == "perplexity" else base - value


def drift_of(base: GeneralScore, node: GeneralScore) -> Drift | None:
    """The node's drift from the base model, judged by the node's threshold; None when the two are not comparable
    (another metric or suite size: a run whose task changed its ``regression``)."""
    if base.metric != node.metric or base.n != node.n:
        return None
    change = float(_change(node.metric, np.array(base.value), np.array(node.value)))
    change_ci = None
    if base.tokens == node.tokens or node.metric == "accuracy":  # the same passages, cut the same way: paired
        draws = np.random.default_rng(0).integers(0, node.n, (RESAMPLES, node.n))
        b, v = ([np.asarray(s.losses, float), np.asarray(s.tokens or [1] * s.n, float)] for s in (base, node))
        paired = _change(node.metric, _figures(node.metric, *b, draws), _figures(node.metric, *v, draws))
        low, high = np.percentile(paired, [2.5, 97.5])
        change_ci = (float(low), float(high))
    return Drift(metric=node.metric, base=base.value, value=node.value, ci=(node.low, node.high),
                 flagged=change > node.max_drop, change=change, change_ci=change_ci, max_drop=node.max_drop,
                 gate=node.gate, seconds=node.seconds)  # fmt: skip


def node_drifts(nodes: dict[int, str], base: str | None) -> dict[int, Drift]:
    """Node id -> its drift, from the stored JSON of each node's best job's figure and of the base model's."""
    if base is None:
        return {}
    reference = GeneralScore.model_validate_json(base)
    drifts = {n: drift_of(reference, GeneralScore.model_validate_json(text)) for n, text in nodes.items()}
    return {n: d for n, d in drifts.items() if d is not None}
