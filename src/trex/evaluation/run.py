"""Score a loaded model on one split of a task: predictions, metric with interval, bad cases.

``evaluate_split`` is what a Job calls after training. Bad cases and the diagnosis are returned
for the validation split only: the test split yields a score and nothing an agent could learn from.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from trex.aidp.operators import LoadLocalParams, load_local_dataset
from trex.evaluation.config import EvalConfig
from trex.evaluation.diagnostics import Diagnosis, diagnose
from trex.evaluation.intervals import Score, example_scores, score_with_interval
from trex.evaluation.scoring import extract_answers, predict_choices, predict_generate


class BadCase(BaseModel):
    input: str
    expected: str
    predicted: str
    margin: float | None = None
    score: float | None = None  # the example's metric score in [0, 1]
    group: str | None = None


class SplitResult(BaseModel):
    split: Literal["validation", "test"]
    score: Score
    bad_cases: list[BadCase] = []
    diagnosis: Diagnosis | None = None


def load_split(cfg: EvalConfig, split: Literal["validation", "test"]) -> list[dict[str, Any]]:
    ds = load_local_dataset(None, LoadLocalParams(path=getattr(cfg, split)))
    needed = (cfg.input_field, cfg.label_field, *((cfg.group_field,) if cfg.group_field else ()))
    missing = [c for c in needed if c not in ds.column_names]
    if missing:
        raise ValueError(
            f"eval.{split}: column(s) {missing} not in {getattr(cfg, split)} (columns: {ds.column_names})"
        )
    rows = ds.to_list()
    return rows[: cfg.max_examples] if cfg.max_examples else rows


def render_prompts(cfg: EvalConfig, tokenizer: PreTrainedTokenizerBase, rows: list[dict[str, Any]]) -> list[str]:
    """The prompt of every row: the template filled in, wrapped in the chat template when the task asks."""
    prompts = [cfg.prompt_template.format(**row) for row in rows]
    if not cfg.chat_template:
        return prompts
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError("eval.chat_template is true, but the model's tokenizer has no chat template")
    return [
        tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
        for p in prompts
    ]


def evaluate_split(
    model: PreTrainedModel | None,
    tokenizer: PreTrainedTokenizerBase,
    cfg: EvalConfig,
    split: Literal["validation", "test"],
    generate_texts: Callable[[list[str], int], list[str]] | None = None,
) -> SplitResult:
    """Score one split. ``generate_texts(prompts, max_new_tokens)``, when given, replaces the model's own
    greedy generation in ``generate`` mode (the vLLM backend); ``model`` may then be None."""
    rows = load_split(cfg, split)
    prompts = render_prompts(cfg, tokenizer, rows)
    references = [str(row[cfg.label_field]) for row in rows]
    if cfg.mode == "generate" and generate_texts is not None:
        preds = extract_answers(generate_texts(prompts, cfg.max_new_tokens), cfg.answer_pattern, cfg.choices)
    elif model is None:
        raise ValueError(f"evaluating {split} in mode {cfg.mode!r} needs the model")
    elif cfg.mode == "choices":
        preds = predict_choices(model, tokenizer, prompts, cfg.choices or {})
    else:
        preds = predict_generate(
            model, tokenizer, prompts, cfg.max_new_tokens, cfg.answer_pattern, choices=cfg.choices
        )
    predicted = [p.predicted for p in preds]
    groups = [str(row[cfg.group_field]) for row in rows] if cfg.group_field else None
    score = score_with_interval(cfg.metric, predicted, references, groups=groups, group_metrics=cfg.group_metrics)
    if split == "test":
        return SplitResult(split=split, score=score)
    scores, is_bad = example_scores(cfg.metric, predicted, references, groups, cfg.group_metrics)
    bad = [
        BadCase(
            input=str(row[cfg.input_field]),
            expected=ref,
            predicted=p.predicted,
            margin=p.margin,
            score=s,
            group=groups[i] if groups else None,
        )
        for i, (row, ref, p, s, b) in enumerate(zip(rows, references, preds, scores, is_bad, strict=True))
        if b
    ]
    inputs = [str(row[cfg.input_field]) for row in rows]
    return SplitResult(split=split, score=score, bad_cases=bad, diagnosis=diagnose(inputs, predicted, references))
