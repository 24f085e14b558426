"""FT-Bench metrics that are not general enough for ``trex.evaluation.metrics``.

Each is a custom metric in the sense of ``resolve_metric``: a function ``(predictions,
references) -> float``, named in a task file by dotted path (``trex.bench.metrics:NAME``), with
an ``example`` attribute giving one example's score in [0, 1]. The answer-extraction rules follow
the benchmarks' own scoring code where it is public (OpenCompass for OpenFinData, LawBench's
evaluation functions) and say where they are our closest form. RDKit metrics live in
``trex.bench.chem``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

from trex.evaluation.metrics import normalize_answer, parse_labels

Example = Callable[[str, str], float]


def _metric(example: Example) -> Callable[[Sequence[str], Sequence[str]], float]:
    """A corpus metric (the mean of ``example``) that carries its per-example score."""

    def corpus(predictions: Sequence[str], references: Sequence[str]) -> float:
        pairs = list(zip(predictions, references, strict=True))
        return sum(example(str(p), str(r)) for p, r in pairs) / len(pairs) if pairs else 0.0

    corpus.example = example  # type: ignore[attr-defined]
    corpus.exact = True  # type: ignore[attr-defined]
    corpus.__doc__ = example.__doc__
    return corpus


# --- choices ---------------------------------------------------------------------------------
_JUDGMENT = {"true": "true", "false": "false", "正确": "true", "错误": "false", "对": "true", "错": "false"}


def _first_choice(text: str) -> str | None:
    match = re.search(r"(?<![A-Za-z])([A-E])(?![A-Za-z])", text)
    return match.group(1) if match else None


def _judgment(text: str) -> str | None:
    match = re.search(r"(?i)\b(true|false)\b|正确|错误|对|错", text)
    return _JUDGMENT.get(match.group(0).lower()) if match else None


def _choice_example(prediction: str, reference: str) -> float:
    """Multiple choice or true/false: the first option letter (A-E), or the first true/false, in the answer."""
    ref = reference.strip()
    if ref.lower() in ("true", "false"):
        return float(_judgment(prediction) == ref.lower())
    return float(_first_choice(prediction) == ref.upper())


def _last_letter_example(prediction: str, reference: str) -> float:
    """OpenCompass's OpenFinData rule: the last capital letter A-E of the answer is the choice."""
    letters = re.findall(r"[A-E]", prediction)
    return float(bool(letters) and letters[-1] == reference.strip().upper())


def _all_items_example(prediction: str, reference: str) -> float:
    """OpenFinData entity recognition: right when every '、'-separated gold item appears in the answer."""
    items = [item.strip() for item in re.split(r"[、,，]", reference) if item.strip()]
    return float(bool(items) and all(item in prediction for item in items))


def _ordering_example(prediction: str, reference: str) -> float:
    """Event ordering: the sequence of option letters (A-D, first occurrences) must equal the reference's."""

    def sequence(text: str) -> list[str]:
        seen: list[str] = []
        for letter in re.findall(r"(?<![A-Za-z])([A-D])(?![A-Za-z])", text):
            if letter not in seen:
                seen.append(letter)
        return seen

    ref = sequence(reference)
    return float(bool(ref) and sequence(prediction)[: len(ref)] == ref)


choice_accuracy = _metric(_choice_example)
last_letter_accuracy = _metric(_last_letter_example)
all_items_present = _metric(_all_items_example)
ordering_accuracy = _metric(_ordering_example)

# --- HoC -------------------------------------------------------------------------------------
HALLMARKS = (
    "sustaining proliferative signaling",
    "evading growth suppressors",
    "resisting cell death",
    "enabling replicative immortality",
    "inducing angiogenesis",
    "activating invasion and metastasis",
    "genomic instability and mutation",
    "tumor promoting inflammation",
    "cellular energetics",
    "avoiding immune destruction",
)


def hoc_macro_f1(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Macro-F1 over the ten hallmarks; labels outside them are ignored, 'none' is the empty set, and a
    hallmark neither referenced nor predicted in the sample is left out of the mean (undefined F1)."""
    scores = []
    preds = [parse_labels(p) for p in predictions]
    refs = [parse_labels(r) for r in references]
    for label in HALLMARKS:
        tp = sum(label in p and label in r for p, r in zip(preds, refs, strict=True))
        fp = sum(label in p and label not in r for p, r in zip(preds, refs, strict=True))
        fn = sum(label not in p and label in r for p, r in zip(preds, refs, strict=True))
        if tp + fp + fn:
            scores.append(2 * tp / (2 * tp + fp + fn))
    return sum(scores) / len(scores) if scores else 0.0


def _hoc_example(prediction: str, reference: str) -> float:
    pred = parse_labels(prediction) & set(HALLMARKS)
    ref = parse_labels(reference) & set(HALLMARKS)
    if not pred and not ref:
        return 1.0
    return 2 * len(pred & ref) / (len(pred) + len(ref))


hoc_macro_f1.example = _hoc_example  # type: ignore[attr-defined]
hoc_macro_f1.exact = True  # type: ignore[attr-defined]

# --- LawBench (our closest forms of its per-task metrics; see the lawbench task file) ----------
_LAW_ITEM_SPLIT = re.compile(r"[;；,，、\n]|\s+")


def _law_items(text: str) -> set[str]:
    text = re.sub(r"^[^:：]{0,12}[:：]", "", text.strip())  # drop a leading "罪名：" style prefix
    return {item.strip("。.[]【】 ") for item in _LAW_ITEM_SPLIT.split(text) if item.strip("。.[]【】 ")}


def _law_set_f1_example(prediction: str, reference: str) -> float:
    """F1 between the sets of items (charges, articles, labels) named in the answer and the reference."""
    pred, ref = _law_items(prediction), _law_items(reference)
    if not pred or not ref:
        return float(pred == ref)
    tp = len(pred & ref)
    return 0.0 if tp == 0 else 2 * tp / (len(pred) + len(ref))


def _law_choice_example(prediction: str, reference: str) -> float:
    """The set of option letters A-D in the answer equals the reference's (multi-answer questions too)."""

    def letters(text: str) -> set[str]:
        text = text.split("正确答案", 1)[-1] if "正确答案" in text else text
        return set(re.findall(r"(?<![a-z])([A-D])(?![a-z])", text))  # "AB" is two answers

    ref = letters(reference)
    return float(bool(ref) and letters(prediction) == ref)


def _char_f1_example(prediction: str, reference: str) -> float:
    """Character-level F1 (reading comprehension in Chinese: every character is a token)."""
    pred = [c for c in normalize_answer(prediction) if not c.isspace()]
    ref = [c for c in normalize_answer(reference) if not c.isspace()]
    common = sum(min(pred.count(c), ref.count(c)) for c in set(ref))
    if not pred or not ref or common == 0:
        return float(pred == ref)
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def _months(text: str) -> float | None:
    """A prison term in months: 'N年' counts 12 months per year, 'N个月' N months; None if absent."""
    total, found = 0.0, False
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)\s*(年|个月|月)", text):
        total += float(number) * (12 if unit == "年" else 1)
        found = True
    if not found:
        plain = re.search(r"\d+(?:\.\d+)?", text)
        return float(plain.group(0)) if plain else None
    return total


def _prison_term_example(prediction: str, reference: str) -> float:
    """Normalized log distance of prison terms: 1 - |ln(p+1) - ln(r+1)| / ln(216), floored at 0."""
    pred, ref = _months(prediction), _months(reference)
    if pred is None or ref is None:
        return 0.0
    return max(0.0, 1.0 - abs(math.log(pred + 1) - math.log(ref + 1)) / math.log(216))


law_set_f1 = _metric(_law_set_f1_example)
law_choice_accuracy = _metric(_law_choice_example)
char_f1 = _metric(_char_f1_example)
prison_term_score = _metric(_prison_term_example)
for _fn in (law_set_f1, char_f1, prison_term_score):
    _fn.exact = False  # type: ignore[attr-defined]  # graded scores: the lowest quarter are the bad cases
