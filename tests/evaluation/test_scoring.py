"""Choice scoring on the tiny model: the one-token fast path equals full log-likelihood scoring."""

from __future__ import annotations

import torch

from trex.evaluation.scoring import predict_choices, predict_generate


def _full_loglik(model, tokenizer, prompt: str, completion: str) -> float:
    ids = tokenizer(prompt + completion, add_special_tokens=False, return_tensors="pt").input_ids
    n_prompt = len(tokenizer(prompt, add_special_tokens=False).input_ids)
    with torch.no_grad():
        logprobs = torch.log_softmax(model(input_ids=ids).logits[0].float(), -1)
    return float(sum(logprobs[i - 1, ids[0, i]] for i in range(n_prompt, ids.shape[1])))


def test_fast_path_matches_unbatched_log_likelihood(tiny_model) -> None:
    model, tokenizer = tiny_model
    prompts = [
        "Review: good film\nAnswer:",
        "Review: a very long and boring film indeed\nAnswer:",
        "Review: meh\nAnswer:",
    ]
    choices = {"fresh": " the", "rotten": " and"}  # frequent words: one token each in the tiny BPE
    assert all(len(tokenizer(c, add_special_tokens=False).input_ids) == 1 for c in choices.values())
    preds = predict_choices(model, tokenizer, prompts, choices, batch_size=2)
    for prompt, pred in zip(prompts, preds, strict=True):
        scores = {label: _full_loglik(model, tokenizer, prompt, text) for label, text in choices.items()}
        assert pred.predicted == max(scores, key=scores.get)
        assert abs(pred.margin - abs(scores["fresh"] - scores["rotten"])) < 1e-3
    # multi-token choices take the slow path and must agree with the same reference
    long_choices = {"fresh": " fresh and good", "rotten": " rotten and bad"}
    preds = predict_choices(model, tokenizer, prompts, long_choices, batch_size=2)
    for prompt, pred in zip(prompts, preds, strict=True):
        scores = {label: _full_loglik(model, tokenizer, prompt, text) for label, text in long_choices.items()}
        assert pred.predicted == max(scores, key=scores.get)


def test_generate_extracts_with_regex(tiny_model) -> None:
    model, tokenizer = tiny_model
    preds = predict_generate(model, tokenizer, ["Q: a\nA:", "Q: bb\nA:"], max_new_tokens=4, answer_pattern=r"(.+)")
    assert len(preds) == 2
    assert all(p.raw is not None for p in preds)
    assert [p.predicted for p in preds] == [p.raw.strip() for p in preds]
