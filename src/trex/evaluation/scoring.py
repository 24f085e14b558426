"""Model predictions for evaluation: choice log-likelihood and greedy generation, batched.

``predict_choices`` scores every choice's completion text after the prompt by the sum of its
token log-probabilities and predicts the best label. When every choice is one token, one forward
pass per batch with ``logits_to_keep=1`` scores all choices at once (the common classification
case); otherwise each (prompt, choice) pair is scored in full. Batches are sorted by length so
padding costs little. ``predict_generate`` decodes greedily and extracts the answer by regex.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch
from pydantic import BaseModel
from transformers import PreTrainedModel, PreTrainedTokenizerBase


class Prediction(BaseModel):
    predicted: str
    margin: float | None = None  # log-likelihood of the prediction minus the runner-up (choices mode)
    raw: str | None = None  # generated text (generate mode)


def _completion_ids(tokenizer: PreTrainedTokenizerBase, prompt: str, completion: str) -> list[int]:
    prompt_ids = tokenizer(prompt, add_special_tokens=False).input_ids
    full_ids = tokenizer(prompt + completion, add_special_tokens=False).input_ids
    if full_ids[: len(prompt_ids)] == prompt_ids:
        return full_ids[len(prompt_ids) :]
    return tokenizer(completion, add_special_tokens=False).input_ids


def _batches(order: list[int], size: int) -> list[list[int]]:
    return [order[i : i + size] for i in range(0, len(order), size)]


def _pad(seqs: list[list[int]], pad_id: int, left: bool) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for row, seq in enumerate(seqs):
        cols = slice(width - len(seq), width) if left else slice(0, len(seq))
        ids[row, cols] = torch.tensor(seq)
        mask[row, cols] = 1
    return ids, mask


def _device(model: PreTrainedModel) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def predict_choices(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    choices: dict[str, str],
    batch_size: int = 32,
) -> list[Prediction]:
    labels = list(choices)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    prompt_ids = [tokenizer(p, add_special_tokens=False).input_ids for p in prompts]
    completion = (
        {label: _completion_ids(tokenizer, prompts[0], text) for label, text in choices.items()} if prompts else {}
    )
    scores = torch.zeros((len(prompts), len(labels)))
    order = sorted(range(len(prompts)), key=lambda i: len(prompt_ids[i]))
    device = _device(model)
    if all(len(ids) == 1 for ids in completion.values()):
        targets = torch.tensor([completion[label][0] for label in labels])
        for batch in _batches(order, batch_size):
            ids, mask = _pad([prompt_ids[i] for i in batch], pad_id, left=True)
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device), logits_to_keep=1).logits[:, -1]
            scores[batch] = torch.log_softmax(logits.float(), dim=-1)[:, targets].cpu()
    else:
        for col, label in enumerate(labels):
            for batch in _batches(order, batch_size):
                seqs = [prompt_ids[i] + _completion_ids(tokenizer, prompts[i], choices[label]) for i in batch]
                ids, mask = _pad(seqs, pad_id, left=False)
                logprobs = torch.log_softmax(
                    model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float(), -1
                )
                for row, i in enumerate(batch):
                    start, end = len(prompt_ids[i]), len(seqs[row])
                    tokens = ids[row, start:end].to(device)
                    scores[i, col] = logprobs[row, start - 1 : end - 1].gather(-1, tokens[:, None]).sum().cpu()
    predictions = []
    for row in scores:
        top = torch.topk(row, k=min(2, len(labels)))
        margin = float(top.values[0] - top.values[1]) if len(labels) > 1 else None
        predictions.append(Prediction(predicted=labels[int(top.indices[0])], margin=margin))
    return predictions


@torch.no_grad()
def predict_generate(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    max_new_tokens: int,
    answer_pattern: str | None,
    batch_size: int = 16,
    choices: dict[str, str] | None = None,
) -> list[Prediction]:
    """Greedy generation; the answer is the regex's group, else the choice named first, else the whole text."""
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    prompt_ids = [tokenizer(p, add_special_tokens=False).input_ids for p in prompts]
    order = sorted(range(len(prompts)), key=lambda i: len(prompt_ids[i]))
    texts = [""] * len(prompts)
    device = _device(model)
    for batch in _batches(order, batch_size):
        ids, mask = _pad([prompt_ids[i] for i in batch], pad_id, left=True)
        out = model.generate(
            input_ids=ids.to(device),
            attention_mask=mask.to(device),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=pad_id,
        )
        for row, i in enumerate(batch):
            texts[i] = tokenizer.decode(out[row, ids.shape[1] :], skip_special_tokens=True)
    return extract_answers(texts, answer_pattern, choices)


def extract_answers(
    texts: Sequence[str], answer_pattern: str | None, choices: dict[str, str] | None = None
) -> list[Prediction]:
    """Each generated text's answer: the regex's group, else the choice named first, else the whole text."""
    pattern = re.compile(answer_pattern) if answer_pattern else None
    predictions = []
    for text in texts:
        match = pattern.search(text) if pattern else None
        answer = (match.group(1) if match and match.groups() else match.group(0)) if match else text.strip()
        if choices and not match:
            answer = choice_named_first(text, choices) or answer
        predictions.append(Prediction(predicted=answer.strip(), raw=text))
    return predictions


def choice_named_first(text: str, choices: dict[str, str]) -> str | None:
    """The label whose choice text (or the label itself) appears earliest in ``text``, as a whole word."""
    found: list[tuple[int, str]] = []
    for label, choice in choices.items():
        for needle in {choice.strip(), label}:
            hit = re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", text, re.IGNORECASE) if needle else None
            if hit:
                found.append((hit.start(), label))
    return min(found)[1] if found else None
