"""The general-ability figure of a loaded model, measured inside a job after its validation scoring.

By default the perplexity of a fixed sample of trex's general text (``trex.assets.general``: ``passages``
passages, each cut to ``max_tokens`` tokens; every token after a passage's first is scored). With a task's
``regression.suite``, the accuracy on a multiple-choice file instead: a JSONL row ``{"question", "choices",
"answer"}`` (``answer``: the right choice's index or text), each choice scored by the summed log-probability of
``" " + choice`` after ``question + "\\nAnswer:"``; the first ``passages`` questions are scored. The figure and
its interval are computed by ``trex.evaluation.drift``; the seconds it took go with it (the check's cost).

Guarantees: the same model and the same sample give the same figure; nothing is downloaded. Not guaranteed: that the
figure measures an ability (docs/trust.md).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from trex.assets.general import general_passages
from trex.evaluation.config import RegressionConfig
from trex.evaluation.drift import GeneralScore, general_score


def _device(model: PreTrainedModel) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def _summed_nll(model: PreTrainedModel, seqs: list[list[int]], starts: list[int], batch_size: int = 16) -> list[float]:
    """Per sequence: the negative log-likelihood of its tokens from ``starts[i]`` on (each given those before)."""
    out = [0.0] * len(seqs)
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    device = _device(model)
    for first in range(0, len(order), batch_size):
        batch = order[first : first + batch_size]
        width = max(len(seqs[i]) for i in batch)
        ids = torch.zeros((len(batch), width), dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, i in enumerate(batch):
            ids[row, : len(seqs[i])], mask[row, : len(seqs[i])] = torch.tensor(seqs[i]), 1
        # a causal model's logits at positions 0..n-2 need only those tokens: no wasted last position, no copy
        logits = model(input_ids=ids[:, :-1].to(device), attention_mask=mask[:, :-1].to(device)).logits
        flat = logits.reshape(-1, logits.shape[-1])
        nll = torch.nn.functional.cross_entropy(flat.float(), ids[:, 1:].reshape(-1).to(device), reduction="none")
        nll = nll.view(len(batch), width - 1).cpu()
        for row, i in enumerate(batch):
            out[i] = float(nll[row, max(0, starts[i] - 1) : len(seqs[i]) - 1].sum())
    return out


def passage_losses(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, passages: list[str], max_tokens: int
) -> tuple[list[float], list[int]]:
    """(summed negative log-likelihood, tokens scored) of each passage."""
    seqs = [tokenizer(p, add_special_tokens=False).input_ids[:max_tokens] for p in passages]
    seqs = [s for s in seqs if len(s) >= 2]
    return _summed_nll(model, seqs, [1] * len(seqs)), [len(s) - 1 for s in seqs]


def read_suite(path: str, limit: int) -> list[tuple[str, list[str], int]]:
    """(question, choices, index of the right one) of the suite's first ``limit`` rows; errors name the line."""
    rows = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        choices, answer = [str(c) for c in row.get("choices", [])], row.get("answer")
        index = answer if isinstance(answer, int) else choices.index(answer) if answer in choices else -1
        if "question" not in row or len(choices) < 2 or not 0 <= index < len(choices):
            raise ValueError(
                f"{path}:{number}: a suite row is {{question, choices (2 or more), answer (index or text)}}"
            )
        rows.append((str(row["question"]), choices, index))
        if len(rows) == limit:
            break
    return rows


def suite_correct(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, path: str, limit: int) -> list[float]:
    """1.0 for each question whose right choice scores highest, else 0.0."""
    rows = read_suite(path, limit)
    seqs, starts, owners = [], [], []
    for q, (question, choices, _) in enumerate(rows):
        prompt = tokenizer(f"{question}\nAnswer:", add_special_tokens=False).input_ids
        for choice in choices:
            seqs.append(prompt + tokenizer(f" {choice}", add_special_tokens=False).input_ids)
            starts.append(len(prompt))
            owners.append(q)
    scores = _summed_nll(model, seqs, starts)
    correct = []
    for q, (_, choices, answer) in enumerate(rows):
        mine = [s for s, owner in zip(scores, owners, strict=True) if owner == q]
        correct.append(float(min(range(len(choices)), key=lambda c: mine[c]) == answer))
    return correct


def measure_general(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, cfg: RegressionConfig
) -> GeneralScore | None:
    """The model's figure on the general suite, timed; None when the check is off (``passages: 0``)."""
    if cfg.passages == 0:
        return None
    start = time.perf_counter()
    was_training = model.training
    model.eval()
    if cfg.measure == "perplexity":
        losses, tokens = passage_losses(model, tokenizer, general_passages(cfg.passages), cfg.max_tokens)
    else:
        losses, tokens = suite_correct(model, tokenizer, str(cfg.suite), cfg.passages), []
    model.train(was_training)
    gate = cfg.selection == "gate"
    return general_score(cfg.measure, losses, tokens, cfg.threshold, gate, time.perf_counter() - start)
