"""Metrics against hand-computed values; bootstrap intervals reproducible and around the value."""

from __future__ import annotations

import pytest

from trex.evaluation.diagnostics import diagnose
from trex.evaluation.intervals import example_scores, score_with_interval
from trex.evaluation.metrics import (
    CJKTokenizer,
    MetricError,
    accuracy,
    macro_f1,
    micro_f1,
    multilabel_macro_f1,
    multilabel_micro_f1,
    parse_labels,
    resolve_metric,
)


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


def test_micro_f1_single_label_equals_accuracy() -> None:
    preds, refs = ["a", "b", "b", "a", "c"], ["a", "a", "b", "b", "c"]
    assert micro_f1(preds, refs) == pytest.approx(accuracy(preds, refs)) == pytest.approx(0.6)


def test_macro_f1_keeps_a_label_called_none() -> None:
    assert macro_f1(["none", "x"], ["none", "x"]) == 1.0


def test_parse_labels() -> None:
    assert parse_labels('["A", "b "]') == {"a", "b"}
    assert parse_labels("a; B | c\nd, e") == {"a", "b", "c", "d", "e"}
    assert parse_labels("none") == frozenset() and parse_labels("") == frozenset()


def test_multilabel_f1_by_hand() -> None:
    preds = ["a;b", "a", "none", "c"]
    refs = ["a", "a;b", "b", "c;a"]
    # a: tp 2 (ex 1, 2), fp 0, fn 1 (ex 4) -> 4/5; b: tp 0 -> 0; c: tp 1 fp 0 fn 0 -> 1   => macro 0.6
    assert multilabel_macro_f1(preds, refs) == pytest.approx(0.6)
    # pooled: tp 3, fp 1 (b in ex 1), fn 3 (b ex 2, b ex 3, a ex 4) -> 6 / 10
    assert multilabel_micro_f1(preds, refs) == pytest.approx(0.6)
    scores, bad = example_scores("multilabel_macro_f1", preds, refs)
    assert scores == pytest.approx([2 / 3, 2 / 3, 0.0, 2 / 3]) and bad == [True, True, True, True]
    assert example_scores("multilabel_macro_f1", ["none"], ["none"])[0] == [1.0]


def test_rouge_by_hand_and_chinese() -> None:
    # reference "the cat sat on the mat", prediction "the cat sat": unigram overlap 3 of 3 predicted, 3 of 6
    # referenced -> P 1, R 0.5, F 2/3; bigrams: 2 of 2, 2 of 5 -> F 2*1*0.4/1.4 = 4/7; LCS 3 -> same as rouge1
    assert resolve_metric("rouge1").corpus(["the cat sat"], ["the cat sat on the mat"]) == pytest.approx(2 / 3)
    assert resolve_metric("rouge2").corpus(["the cat sat"], ["the cat sat on the mat"]) == pytest.approx(4 / 7)
    assert resolve_metric("rougeL").corpus(["the cat sat"], ["the cat sat on the mat"]) == pytest.approx(2 / 3)
    # Chinese: one token per character; 4 of 4 predicted characters among 6 referenced -> F 0.8
    assert resolve_metric("rouge1").corpus(["今天天气"], ["今天天气很好"]) == pytest.approx(0.8)
    assert CJKTokenizer().tokenize("Qwen3 模型 fine-tuning") == ["qwen3", "模", "型", "fine", "tuning"]


def test_overlap_metric_bad_cases_are_the_lowest_quarter() -> None:
    refs = ["a b c d"] * 4
    preds = ["a b c d", "a b c", "a b", "x"]
    scores, bad = example_scores("rouge1", preds, refs)
    assert bad == [False, False, False, True] and scores[0] == 1.0


def test_grouped_score_is_the_mean_over_groups_with_their_metrics() -> None:
    preds = ["x", "y", "y", "a;b", "the cat sat"]
    refs = ["x", "x", "y", "a", "the cat sat on the mat"]
    groups = ["cls", "cls", "cls", "tags", "sum"]
    score = score_with_interval(
        "accuracy", preds, refs, groups=groups, group_metrics={"tags": "multilabel_micro_f1", "sum": "rouge1"}
    )
    # cls accuracy 2/3; tags: tp 1 fp 1 -> 2/3; sum rouge1 2/3  => mean 2/3
    assert score.groups == {"cls": pytest.approx(2 / 3), "tags": pytest.approx(2 / 3), "sum": pytest.approx(2 / 3)}
    assert score.value == pytest.approx(2 / 3) and score.low <= score.value <= score.high


def test_custom_metric_by_dotted_path() -> None:
    definition = resolve_metric("tests.evaluation.custom_metric:first_char_match")
    assert definition.corpus(["abc", "xbc"], ["axx", "abc"]) == 0.5
    assert score_with_interval("tests.evaluation.custom_metric.first_char_match", ["a"], ["a"]).value == 1.0
    with pytest.raises(MetricError, match="unknown metric 'bleu'"):
        resolve_metric("bleu")
    with pytest.raises(MetricError, match="cannot import"):
        resolve_metric("no_such_module:fn")


def test_prompts_in_the_chat_template(tiny_model) -> None:
    from trex.evaluation.config import EvalConfig
    from trex.evaluation.run import render_prompts

    _, tokenizer = tiny_model
    cfg = EvalConfig(
        validation="v", test="t", prompt_template="Review: {text}", choices={"a": " a"}, chat_template=True
    )
    with pytest.raises(ValueError, match="has no chat template"):
        render_prompts(cfg, tokenizer, [{"text": "fine"}])
    tokenizer.chat_template = (
        "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\n{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>{% endif %}"
    )
    try:
        assert render_prompts(cfg, tokenizer, [{"text": "fine"}]) == ["<|user|>Review: fine\n<|assistant|>"]
    finally:
        tokenizer.chat_template = None  # the tokenizer is shared by the session's tests
    plain = cfg.model_copy(update={"chat_template": False})
    assert render_prompts(plain, tokenizer, [{"text": "fine"}]) == ["Review: fine"]


def test_generated_answers_map_to_the_choice_named_first() -> None:
    from trex.evaluation.scoring import choice_named_first

    choices = {"fresh": " fresh", "rotten": " rotten"}
    assert choice_named_first("I think it is Rotten, not fresh", choices) == "rotten"
    assert choice_named_first("freshly baked", choices) is None  # whole words only
    assert choice_named_first("no idea", choices) is None


def test_bootstrap_scores_each_example_once() -> None:
    """ROUGE-like metrics (a mean of per-example scores) are scored once per example, not once per resample."""
    from tests.evaluation import metric_counting
    from trex.evaluation.intervals import score_with_interval

    preds = [f"a b c{i % 7}" for i in range(200)]
    refs = [f"a c{i % 5} d" for i in range(200)]
    metric_counting.CALLS["example"] = 0
    score = score_with_interval("tests.evaluation.metric_counting:mean_overlap", preds, refs, resamples=500)
    assert metric_counting.CALLS["example"] == 200
    assert score.low <= score.value <= score.high
    slow = [metric_counting.mean_overlap(preds, refs)]
    assert score.value == pytest.approx(slow[0])


def test_rouge_interval_on_600_rows_is_fast() -> None:
    import time

    from trex.evaluation.intervals import score_with_interval

    preds = [f"the patient reports pain in the {w} since {i} days" for i, w in enumerate(["knee", "back"] * 300)]
    refs = [f"patient has {w} pain for {i % 9} days" for i, w in enumerate(["knee", "hip"] * 300)]
    start = time.perf_counter()
    score = score_with_interval("rougeL", preds, refs)
    assert time.perf_counter() - start < 5  # 600 ROUGE calls; rescoring each resample was 600,000
    assert 0 < score.low <= score.value <= score.high < 1
