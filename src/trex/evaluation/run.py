"""Score a loaded model on one split of a task: predictions, metric with interval, bad cases.

``evaluate_split`` is what a Job calls after training. Bad cases and the diagnosis are returned
for the validation split only: the test split yields a score and nothing an agent could learn from.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from trex.aidp.operators import LoadLocalParams, load_local_dataset
from trex.evaluation.config import EvalConfig
from trex.evaluation.diagnostics import Diagnosis, diagnose
from trex.evaluation.metrics import Score, normalize_answer, score_with_interval
from trex.evaluation.scoring import predict_choices, predict_generate


class BadCase(BaseModel):
    input: str
    expected: str
    predicted: str
    margin: float | None = None


class SplitResult(BaseModel):
    split: Literal["validation", "test"]
    score: Score
    bad_cases: list[BadCase] = []
    diagnosis: Diagnosis | None = None


def load_split(cfg: EvalConfig, split: Literal["validation", "test"]) -> list[dict[str, Any]]:
    ds = load_local_dataset(None, LoadLocalParams(path=getattr(cfg, split)))
    missing = [c for c in (cfg.input_field, cfg.label_field) if c not in ds.column_names]
    if missing:
        raise ValueError(
            f"eval.{split}: column(s) {missing} not in {getattr(cfg, split)} (columns: {ds.column_names})"
        )
    rows = ds.to_list()
    return rows[: cfg.max_examples] if cfg.max_examples else rows


def evaluate_split(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, cfg: EvalConfig, split: Literal["validation", "test"]
) -> SplitResult:
    rows = load_split(cfg, split)
    prompts = [cfg.prompt_template.format(**row) for row in rows]
    references = [str(row[cfg.label_field]) for row in rows]
    if cfg.mode == "choices":
        preds = predict_choices(model, tokenizer, prompts, cfg.choices or {})
    else:
        preds = predict_generate(model, tokenizer, prompts, cfg.max_new_tokens, cfg.answer_pattern)
    predicted = [p.predicted for p in preds]
    score = score_with_interval(cfg.metric, predicted, references)
    if split == "test":
        return SplitResult(split=split, score=score)
    bad = [
        BadCase(input=str(row[cfg.input_field]), expected=ref, predicted=p.predicted, margin=p.margin)
        for row, ref, p in zip(rows, references, preds, strict=True)
        if normalize_answer(p.predicted) != normalize_answer(ref)
    ]
    inputs = [str(row[cfg.input_field]) for row in rows]
    return SplitResult(split=split, score=score, bad_cases=bad, diagnosis=diagnose(inputs, predicted, references))
