"""Task metrics over (prediction, reference) pairs, each with a seeded bootstrap 95% interval.

Each metric is a ``MetricDef``: a corpus score over all pairs, and a per-example score in [0, 1]
that marks bad cases (``exact`` metrics: an example below 1 is wrong; overlap metrics such as
ROUGE: the lowest quarter of examples are the bad cases). ``resolve_metric`` maps a name to its
definition: a built-in name, or a custom metric by dotted path (``package.module:function`` or
``package.module.function``, a function ``(predictions, references) -> float``).

Built-ins: ``accuracy`` and ``exact_match`` (normalized strings equal), ``macro_f1`` and
``micro_f1`` (single label), ``multilabel_macro_f1`` and ``multilabel_micro_f1`` (label sets:
a JSON list or labels separated by ``;``, ``,``, ``|`` or new lines; ``none`` means the empty
set), ``rouge1``, ``rouge2`` and ``rougeL`` (F-measure with rouge-score, through a tokenizer that
keeps Chinese, Japanese and Korean characters: rouge-score's default drops them).

``score_with_interval`` is the one place that turns predictions into a reported score. With
``groups`` the score is the mean over groups of each group's metric (sub-tasks of a benchmark,
``group_metrics`` naming a metric per group), and the bootstrap resamples within each group.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

Metric = Callable[[Sequence[str], Sequence[str]], float]


def normalize_answer(text: str) -> str:
    return " ".join(str(text).lower().split())


# --- single-label ----------------------------------------------------------------------------
def _exact(prediction: str, reference: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(reference))


def accuracy(predictions: Sequence[str], references: Sequence[str]) -> float:
    if not references:
        return 0.0
    return sum(_exact(p, r) for p, r in zip(predictions, references, strict=True)) / len(references)


def _f1(tp: int, fp: int, fn: int) -> float:
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def _single(texts: Sequence[str]) -> list[frozenset[str]]:
    return [frozenset([normalize_answer(t)]) for t in texts]


def macro_f1(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Mean over labels (referenced or predicted) of per-label F1."""
    return _macro(_label_counts(_single(predictions), _single(references)))


def micro_f1(predictions: Sequence[str], references: Sequence[str]) -> float:
    """F1 of the pooled label decisions (for one label per example it equals accuracy)."""
    return _micro(_label_counts(_single(predictions), _single(references)))


# --- multi-label -----------------------------------------------------------------------------
_SEPARATORS = re.compile(r"[;,|\n]")


def parse_labels(text: str) -> frozenset[str]:
    """A label set from a JSON list or from ``;``/``,``/``|``/newline-separated text; ``none`` is empty."""
    text = str(text).strip()
    items: list[str]
    if text.startswith("["):
        try:
            items = [str(x) for x in json.loads(text)]
        except (ValueError, TypeError):
            items = _SEPARATORS.split(text.strip("[]"))
    else:
        items = _SEPARATORS.split(text)
    labels = {normalize_answer(item.strip().strip("'\"")) for item in items}
    return frozenset(label for label in labels if label and label != "none")


def _label_counts(predictions: Sequence[frozenset[str]], references: Sequence[frozenset[str]]) -> dict[str, list[int]]:
    counts: dict[str, list[int]] = {}  # label -> [tp, fp, fn]
    for pred, ref in zip(predictions, references, strict=True):
        for label in pred | ref:
            row = counts.setdefault(label, [0, 0, 0])
            row[0] += label in pred and label in ref
            row[1] += label in pred and label not in ref
            row[2] += label in ref and label not in pred
    return counts


def _macro(counts: dict[str, list[int]]) -> float:
    return float(np.mean([_f1(*row) for row in counts.values()])) if counts else 0.0


def _micro(counts: dict[str, list[int]]) -> float:
    tp, fp, fn = (sum(row[i] for row in counts.values()) for i in range(3))
    return _f1(tp, fp, fn) if counts else 0.0


def multilabel_macro_f1(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Mean over labels (referenced or predicted) of per-label F1 over label sets."""
    return _macro(_label_counts([parse_labels(p) for p in predictions], [parse_labels(r) for r in references]))


def multilabel_micro_f1(predictions: Sequence[str], references: Sequence[str]) -> float:
    """F1 of all pooled (example, label) decisions."""
    return _micro(_label_counts([parse_labels(p) for p in predictions], [parse_labels(r) for r in references]))


def _set_f1(prediction: str, reference: str) -> float:
    pred, ref = parse_labels(prediction), parse_labels(reference)
    if not pred and not ref:
        return 1.0
    return _f1(len(pred & ref), len(pred - ref), len(ref - pred))


# --- ROUGE -----------------------------------------------------------------------------------
_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]|[^\W_]+", re.UNICODE)


class CJKTokenizer:
    """Lowercased words; each Chinese, Japanese or Korean character is a token of its own."""

    def tokenize(self, text: str) -> list[str]:
        return _TOKEN.findall(str(text).lower())


@cache
def _scorer(kind: str):  # noqa: ANN202 (rouge_score's RougeScorer)
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer([kind], tokenizer=CJKTokenizer())


def _rouge_example(kind: str) -> Callable[[str, str], float]:
    def example(prediction: str, reference: str) -> float:
        return float(_scorer(kind).score(str(reference), str(prediction))[kind].fmeasure)

    return example


# --- registry --------------------------------------------------------------------------------
@dataclass(frozen=True)
class MetricDef:
    name: str
    corpus: Metric
    example: Callable[[str, str], float]
    exact: bool = True  # an example scoring below 1 is a bad case; else the lowest quarter are
    # the corpus score is the mean of the per-example scores: the bootstrap scores each example once
    mean_of_examples: bool = False


def _mean_of(example: Callable[[str, str], float]) -> Metric:
    def corpus(predictions: Sequence[str], references: Sequence[str]) -> float:
        pairs = list(zip(predictions, references, strict=True))
        return float(np.mean([example(p, r) for p, r in pairs])) if pairs else 0.0

    return corpus


def _builtins() -> dict[str, MetricDef]:
    rouge = {
        k: MetricDef(k, _mean_of(_rouge_example(k)), _rouge_example(k), exact=False, mean_of_examples=True)
        for k in ("rouge1", "rouge2", "rougeL")
    }
    return {
        "accuracy": MetricDef("accuracy", accuracy, _exact, mean_of_examples=True),
        "exact_match": MetricDef("exact_match", accuracy, _exact, mean_of_examples=True),
        "macro_f1": MetricDef("macro_f1", macro_f1, _exact),
        "micro_f1": MetricDef("micro_f1", micro_f1, _exact),
        "multilabel_macro_f1": MetricDef("multilabel_macro_f1", multilabel_macro_f1, _set_f1),
        "multilabel_micro_f1": MetricDef("multilabel_micro_f1", multilabel_micro_f1, _set_f1),
        **rouge,
    }


BUILTIN_METRICS: tuple[str, ...] = tuple(_builtins())


class MetricError(ValueError):
    """A metric name that is neither built in nor an importable function."""


def check_metric_name(name: str) -> None:
    """A built-in name or the form of a custom metric (``module:function``, ``file.py:function``); imports nothing."""
    if name in BUILTIN_METRICS:
        return
    module_name, sep, attr = name.rpartition(":") if ":" in name else name.rpartition(".")
    if not sep or not module_name or not attr.isidentifier():
        raise MetricError(
            f"unknown metric {name!r}: one of {', '.join(BUILTIN_METRICS)}, or a dotted path module:function"
        )


def _import(module_name: str) -> object:
    """A module by dotted name, or a metric file by path (the task loader stores metrics of the task's folder so)."""
    if not module_name.endswith(".py"):
        return importlib.import_module(module_name)
    spec = importlib.util.spec_from_file_location(f"trex_metric_{abs(hash(module_name))}", module_name)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {module_name}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def resolve_metric(name: str) -> MetricDef:
    """The metric's definition; a custom one is imported here, in the job that scores, never at validation."""
    builtins = _builtins()
    if name in builtins:
        return builtins[name]
    check_metric_name(name)
    module_name, _, attr = name.rpartition(":") if ":" in name else name.rpartition(".")
    try:
        fn = getattr(_import(module_name), attr)
    except (ImportError, AttributeError, OSError) as exc:
        raise MetricError(f"metric {name!r}: cannot import {attr!r} from {module_name!r} ({exc})") from exc
    if not callable(fn):
        raise MetricError(f"metric {name!r} is not a function")
    example = getattr(fn, "example", None)
    exact = bool(getattr(fn, "exact", example is None))
    # a custom metric may declare that it is the mean of its ``example`` scores (then scored once per example)
    mean = bool(example is not None and getattr(fn, "mean_of_examples", False))
    return MetricDef(name, fn, example or (lambda p, r: float(fn([p], [r]))), exact, mean)


# --- scoring with intervals ------------------------------------------------------------------
