"""LawBench's per-task metrics as its own evaluation code computes them (open-compass/LawBench,
``evaluation/evaluation_functions``, commit e30981bb). One metric per scoring function; each is a
corpus mean of a per-example score, so trex's bootstrap and bad cases work on it.

Exact ports: option matching of the single-answer tasks (``multi_choice_judge``: right when the
gold option appears in the answer and no other option does), the option-set F1 tasks, the reading
comprehension and information extraction F1 (CJRC's character F1), trigger words, crime amounts,
article numbers and prison terms (including LawBench's choice of the first month figure).
Differences, measured on LawBench's own GPT-4 zero-shot predictions in ``tests/bench``:
- ROUGE-L (1-1, 2-7, 3-2, 3-8): LawBench tokenizes with jieba and scores with ``rouge_chinese``;
  we take the LCS F1 over characters (jieba is not a dependency);
- 2-1 (proofreading): LawBench's F0.5 over ChERRANT character edits needs its M2 tooling; we keep the
  character F1 of ``trex.bench.metrics:char_f1``;
- Chinese numerals are turned into digits by our ``cn_to_digits``, not the ``cn2an`` package;
- prison-term scores below 0 (a term over 215 times the gold) are floored at 0.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

from trex.bench import lawbench_options as options
from trex.bench.metrics import _metric

_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNIT = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_CN_NUMBER = re.compile(f"[{''.join(_DIGIT)}{''.join(_UNIT)}]+")


def _cn_value(text: str) -> int:
    total, section, digit = 0, 0, 0
    for char in text:
        if char in _DIGIT:
            digit = _DIGIT[char]
        elif char == "万":
            total, section, digit = (total + section + digit) * 10000, 0, 0
        else:
            section += (digit or 1) * _UNIT[char]
            digit = 0
    return total + section + digit


def cn_to_digits(text: str) -> str:
    """Chinese numerals in a text as Arabic digits: '一年六个月' -> '1年6个月', '二百六十四' -> '264'."""
    return _CN_NUMBER.sub(lambda m: str(_cn_value(m.group(0))), text)


def _set_f1(gold: set[str], pred: set[str]) -> float:
    common = len(gold & pred)
    precision = common / len(pred) if pred else 0.0
    recall = common / len(gold) if gold else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _found(prediction: str, choices: Sequence[str]) -> set[str]:
    return {option for option in choices if option in prediction}


def _judge(prediction: str, choices: Sequence[str], gold: str) -> float:
    """LawBench's multi_choice_judge: right when the gold option is the only option named."""
    return float(_found(prediction, choices) == {gold})


# --- single answer -------------------------------------------------------------------------
def _first_letter(reference: str, letters: str) -> str:
    match = re.search(f"[{letters}]", reference)
    return match.group(0) if match else ""


def _choice_abcd(prediction: str, reference: str) -> float:
    """1-2, 3-6: the gold letter (in '正确答案：B。') is the only one of A-D in the answer."""
    return _judge(prediction, "ABCD", _first_letter(reference, "ABCD"))


def _choice_abcde(prediction: str, reference: str) -> float:
    """2-8: the gold letter (in '[正确答案]C<eoa>') is the only one of A-E in the answer."""
    return _judge(prediction, "ABCDE", _first_letter(reference, "ABCDE"))


def _dispute_focus(prediction: str, reference: str) -> float:
    """2-2: the gold focus ('争议焦点类别：X。') is the only one of the 16 named."""
    return _judge(prediction, options.DISPUTE_FOCUS, reference[7:-1])


def _consultation(prediction: str, reference: str) -> float:
    """2-4: the gold category is the only one of the 20 named."""
    return _judge(prediction, options.CONSULTATION_TYPES, reference)


def _amount(prediction: str, reference: str) -> float:
    """3-7: the gold amount ('上文涉及到的犯罪金额:8500.0元。') is among the numbers of the answer."""
    gold = float(reference.replace("上文涉及到的犯罪金额:", "").replace("元。", ""))
    return float(gold in [float(x) for x in re.findall(r"\d+\.?\d*", prediction)])


# --- sets ----------------------------------------------------------------------------------
def _marriage_labels(prediction: str, reference: str) -> float:
    """2-3: F1 between the gold labels ('类别:A、B。') and the labels of the 20 named in the answer."""
    return _set_f1(set(reference[3:-1].split("、")), _found(prediction, options.MARRIAGE_LABELS))


def _events(prediction: str, reference: str) -> float:
    """2-9: F1 between the gold events (';'-separated) and the event types named in the answer."""
    return _set_f1(set(reference.split(";")), _found(prediction, options.EVENT_TYPES))


def _accusations(prediction: str, reference: str) -> float:
    """3-3: F1 between the gold charges ('罪名:A;B') and every charge name found in the answer as a substring."""
    return _set_f1(set(reference.replace("罪名:", "").split(";")), _found(prediction, options.ACCUSATIONS))


def _articles(prediction: str, reference: str) -> float:
    """3-1: F1 between the gold article numbers ('法条:刑法第264、67条') and the first number of each
    '、'-separated chunk of the answer (after dropping '第…款' and keeping the inside of '第…条')."""
    gold = {int(x) for x in reference.replace("法条:刑法第", "").replace("条", "").split("、")}
    pred = set()
    for chunk in prediction.split("、"):
        chunk = re.sub(r"第(.*?)款", "", chunk.replace("万元", "元"))
        numbers = re.findall(r"\d+", cn_to_digits(re.sub(r"第(.*?)条", r"\1", chunk)))
        if numbers:
            pred.add(int(numbers[0]))
    return _set_f1(gold, pred)


# --- spans ---------------------------------------------------------------------------------
def _chars(text: str) -> list[str]:
    return [c for c in text.lower() if c.isdigit() or c.isalpha()]


def cjrc_f1(gold: str, pred: str) -> float:
    """CJRC's F1: characters (letters and digits only, lower-cased) in common, as a bag."""
    g, p = _chars(gold), _chars(pred)
    if not g or not p:
        return float(g == p)
    common = sum((Counter(g) & Counter(p)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def _reading(prediction: str, reference: str) -> float:
    """2-5: CJRC F1 of the answer against the gold answer."""
    return cjrc_f1(reference, prediction)


def _triggers(prediction: str, reference: str) -> float:
    """2-10: ';'-separated trigger words paired in order, CJRC F1 summed, then precision/recall over counts."""
    gold, pred = reference.split(";"), prediction.split(";")
    hits = sum(cjrc_f1(g, p) for g, p in zip(gold, pred, strict=False))
    precision, recall = hits / len(pred), hits / len(gold)
    return 2 * precision * recall / (precision + recall + 1e-10)


def _entities(prediction: str, reference: str) -> float:
    """2-6: typed entities ('受害人:X;被盗物品:Y'); an answer's 'type:value' (value up to a space or line
    break, not '无'/'未提及') matched per type by CJRC F1."""
    gold = dict(seg.split(":", 1) for seg in reference.split(";")) if reference.strip() else {}
    pred: dict[str, str] = {}
    for etype in options.ENTITY_TYPES:
        for match in re.finditer(etype, prediction):
            end = match.end()
            if end < len(prediction) - 2 and prediction[end] in ":：":
                value = re.split("\n| ", prediction[end + 1 :].strip())[0].strip()
                if value not in ("无", "未提及"):
                    pred[etype] = value
    if not gold:
        return float(not pred)
    hits = sum(cjrc_f1(gold[etype], value) for etype, value in pred.items() if etype in gold)
    precision, recall = (hits / len(pred) if pred else 0.0), hits / len(gold)
    return 2 * precision * recall / (precision + recall + 1e-10)


# --- prison terms --------------------------------------------------------------------------
def _months(prediction: str) -> int | None:
    text = cn_to_digits(prediction)
    months = [int(x) for x in re.findall(r"(\d+)个月", text)] + [int(x) for x in re.findall(r"(\d+)月", text)]
    if months:
        return months[0]
    years = re.findall(r"(\d+)年", text)
    return int(years[0]) * 12 if years else None


def _prison_term(prediction: str, reference: str) -> float:
    """3-4, 3-5: 1 - |ln(gold+1) - ln(pred+1)| / ln 216 with LawBench's reading of the answer's term:
    the first 'N个月', else the first 'N月', else the first 'N年' x 12; no term scores 0."""
    gold = int(reference.replace("刑期:", "").replace("个月", ""))
    pred = _months(prediction)
    if pred is None:
        return 0.0
    return max(0.0, 1.0 - abs(math.log(gold + 1) - math.log(pred + 1)) / math.log(216))


# --- ROUGE-L -------------------------------------------------------------------------------
def _lcs(a: str, b: str) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


@lru_cache(maxsize=1 << 16)  # the bootstrap scores the same pairs again: LCS is quadratic
def _rouge_l(prediction: str, reference: str) -> float:
    """1-1, 2-7, 3-2, 3-8: ROUGE-L F1 over characters (whitespace dropped; an empty answer is '无内容')."""
    pred = "".join(prediction.split()) or "无内容"
    ref = "".join(reference.split())
    lcs = _lcs(pred, ref) if ref else 0
    return 0.0 if lcs == 0 else 2 * lcs / (len(pred) + len(ref))


choice_abcd = _metric(_choice_abcd)
choice_abcde = _metric(_choice_abcde)
dispute_focus = _metric(_dispute_focus)
consultation = _metric(_consultation)
amount = _metric(_amount)
marriage_labels = _metric(_marriage_labels)
events = _metric(_events)
accusations = _metric(_accusations)
articles = _metric(_articles)
reading = _metric(_reading)
triggers = _metric(_triggers)
entities = _metric(_entities)
prison_term = _metric(_prison_term)
rouge_l = _metric(_rouge_l)
for _fn in (marriage_labels, events, accusations, articles, reading, triggers, entities, prison_term, rouge_l):
    _fn.exact = False  # type: ignore[attr-defined]  # graded scores
