"""AIDP scorers: a column of numbers per row, for select_by_score and the diagnostics.

``compute_perplexity`` runs any causal LM (a hub id, a folder, or ``embedded:NAME``; the GPU when
there is one) over a text column in length-sorted batches and writes each row's perplexity
(``exp`` of the mean token negative log-likelihood; NaN for rows under two tokens).
``score_dataset_with_llm`` asks an LLM judge to score each row against a rubric (integers on a
scale), through the cached client of ``trex.aidp.llm_cache``; a row the judge fails on gets no
score (None) and the number of such rows is logged in the operator's result.
"""

from __future__ import annotations

import math
from importlib import resources
from typing import Any

import yaml
from datasets import Dataset
from pydantic import BaseModel, Field, model_validator

from trex.aidp.llm_cache import LLM_DOC, LLMRef, llm_name, map_with_llm
from trex.aidp.registry import OperatorError, Params, need, need_columns, operator
from trex.aidp.transforms import template_fields


def llm_prompts() -> dict[str, str]:
    return yaml.safe_load(resources.files("trex.aidp").joinpath("prompts/llm_ops.yaml").read_text(encoding="utf-8"))


class PerplexityParams(Params):
    column: str = "text"
    model: str = Field(default="embedded:smollm2-135m-instruct", description="causal LM: hub id, folder or embedded:")
    batch_size: int = Field(default=16, ge=1)
    max_length: int = Field(default=512, ge=2, description="tokens per row scored (longer rows are cut)")
    output: str = Field(default="perplexity", description="name of the new column")


@operator("compute_perplexity", "scorer", PerplexityParams, needs=lambda p: [p.column], adds=lambda p: [p.output])
def compute_perplexity(ds: Dataset | None, p: PerplexityParams) -> Dataset:
    """Add each row's perplexity under a causal LM (lower: more typical text); batched, on GPU when present."""
    import torch

    from trex.train.model import load_model

    ds = need(ds, "compute_perplexity")
    need_columns(ds, [p.column], "compute_perplexity")
    model, tokenizer = load_model(p.model)
    model.eval()
    device = next(model.parameters()).device
    texts = [str(t) if t is not None else "" for t in ds[p.column]]
    encoded = [tokenizer(t, truncation=True, max_length=p.max_length)["input_ids"] for t in texts]
    order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
    result = [math.nan] * len(texts)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    with torch.inference_mode():
        for start in range(0, len(order), p.batch_size):
            batch = [i for i in order[start : start + p.batch_size] if len(encoded[i]) >= 2]
            if not batch:
                continue
            width = max(len(encoded[i]) for i in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, i in enumerate(batch):
                ids[row, : len(encoded[i])] = torch.tensor(encoded[i])
                mask[row, : len(encoded[i])] = 1
            ids, mask = ids.to(device), mask.to(device)
            logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
            targets, target_mask = ids[:, 1:], mask[:, 1:].float()
            nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
            mean = (nll * target_mask).sum(dim=1) / target_mask.sum(dim=1)
            for row, i in enumerate(batch):
                result[i] = float(torch.exp(mean[row]))
    return ds.add_column(p.output, result)


class JudgeScore(BaseModel):
    score: int
    reason: str = ""


class JudgeParams(Params):
    template: str = Field(description="what the judge sees of a row, e.g. 'Q: {prompt}\\nA: {completion}'")
    rubric: str = Field(description="what makes a row good, in a few sentences")
    llm: LLMRef = Field(description=LLM_DOC)
    low: int = 1
    high: int = 10
    output: str = Field(default="llm_score", description="name of the new column")
    workers: int = Field(default=4, ge=1, le=64, description="concurrent requests")

    @model_validator(mode="after")
    def _scale(self) -> JudgeParams:
        if self.high <= self.low:
            raise ValueError("high must be above low")
        return self


def _judge_one(client: Any, prompts: dict[str, str], p: JudgeParams, item: str) -> int | None:
    from trex.llm.client import LLMError
    from trex.llm.structured import structured

    messages = [
        {"role": "system", "content": prompts["judge_system"]},
        {"role": "user", "content": prompts["judge_user"].format(rubric=p.rubric, item=item, low=p.low, high=p.high)},
    ]

    def in_scale(value: JudgeScore) -> None:
        if not p.low <= value.score <= p.high:
            raise ValueError(f"score {value.score} is outside {p.low}-{p.high}")

    try:
        return structured(client, messages, JudgeScore, check=in_scale).score
    except LLMError:
        return None


@operator(
    "score_dataset_with_llm",
    "scorer",
    JudgeParams,
    needs=lambda p: template_fields(p.template),
    adds=lambda p: [p.output],
)
def score_dataset_with_llm(ds: Dataset | None, p: JudgeParams) -> Dataset:
    """Add an LLM judge's score of each row against a rubric (integers low..high; cached, so reruns are free)."""
    ds = need(ds, "score_dataset_with_llm")
    need_columns(ds, template_fields(p.template), "score_dataset_with_llm")
    prompts = llm_prompts()
    items = [p.template.format(**row) for row in ds]
    scores = map_with_llm(p.llm, p.workers, lambda client, item: _judge_one(client, prompts, p, item), items)
    if items and all(s is None for s in scores):
        raise OperatorError(f"score_dataset_with_llm: the judge ({llm_name(p.llm)}) gave no valid score for any row")
    return ds.add_column(p.output, scores)
