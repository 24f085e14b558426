"""The general-ability check: the figure of a real (tiny) model with its interval, the suite's accuracy, the drift
and its flag, the shipped text, and the task's ``regression`` field."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
import torch

from trex.assets.general import all_general_passages, general_passages
from trex.evaluation.config import RegressionConfig
from trex.evaluation.drift import drift_of, general_score
from trex.evaluation.general import measure_general, read_suite
from trex.task.fingerprint import fingerprint
from trex.task.spec import TaskError, parse_task

TASK = """
name: t
objective: o
base_model: m
eval: {validation: v.jsonl, test: t.jsonl, prompt_template: "{text}", mode: choices, choices: {a: " a"}}
"""


def test_the_tiny_models_perplexity_on_the_general_text_has_an_interval_and_a_noisy_copy_is_flagged(tiny_model):
    model, tokenizer = tiny_model
    cfg = RegressionConfig(passages=12, max_tokens=32)
    base = measure_general(model, tokenizer, cfg)
    assert base is not None and base.metric == "perplexity" and base.n == 12
    assert 1 < base.low <= base.value <= base.high and math.isfinite(base.value)
    assert all(1 <= t <= 31 for t in base.tokens) and base.seconds > 0
    assert measure_general(model, tokenizer, cfg).value == pytest.approx(base.value)  # the same sample each time
    noisy = copy.deepcopy(model)
    with torch.no_grad():
        for p in noisy.parameters():
            p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(0)) * 0.5)
    tuned = measure_general(noisy, tokenizer, cfg)
    drift = drift_of(base, tuned)
    assert drift is not None and drift.flagged and drift.change > 0.10 and drift.change_ci is not None
    assert drift.change_ci[0] > 0.10 and not drift_of(base, base).flagged  # paired: the base against itself is 0
    assert drift_of(base, base).change == 0.0
    assert measure_general(model, tokenizer, RegressionConfig(passages=0)) is None  # the check turned off


def test_a_multiple_choice_suite_is_scored_by_accuracy(tiny_model, tmp_path: Path):
    model, tokenizer = tiny_model
    rows = [
        {"question": f"What is {i} plus {i}?", "choices": [str(2 * i), "seven"], "answer": i % 2} for i in range(5)
    ]
    suite = tmp_path / "suite.jsonl"
    suite.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    score = measure_general(model, tokenizer, RegressionConfig(suite=str(suite), passages=4))
    assert score is not None and score.metric == "accuracy" and score.n == 4
    assert set(score.losses) <= {0.0, 1.0} and score.value == pytest.approx(sum(score.losses) / 4)
    assert score.max_drop == 0.02
    suite.write_text('{"question": "q", "choices": ["a"], "answer": 0}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="suite.jsonl:1: a suite row"):
        read_suite(str(suite), 10)


def test_the_drift_flags_a_change_past_max_drop_each_way():
    base = general_score("perplexity", [20.0] * 10, [10] * 10, max_drop=0.10)  # exp(2)
    worse = general_score("perplexity", [21.5] * 10, [10] * 10, max_drop=0.10, gate=True)  # exp(2.15): +16%
    slight = general_score("perplexity", [20.5] * 10, [10] * 10, max_drop=0.10)  # +5%
    drift = drift_of(base, worse)
    assert drift is not None and drift.flagged and drift.gate and drift.change == pytest.approx(math.exp(0.15) - 1)
    assert drift.base == pytest.approx(math.exp(2)) and drift.ci[0] <= drift.value <= drift.ci[1]
    assert "kept from the run's best" in drift.note and "+16.2%" in drift.note
    assert not drift_of(base, slight).flagged  # type: ignore[union-attr]
    right = general_score("accuracy", [1.0] * 8 + [0.0] * 2, [], max_drop=0.02)
    dropped = general_score("accuracy", [1.0] * 7 + [0.0] * 3, [], max_drop=0.02)
    assert drift_of(right, dropped).flagged and drift_of(right, dropped).change == pytest.approx(0.1)  # type: ignore[union-attr]
    assert drift_of(base, right) is None  # another metric: not comparable


def test_the_general_text_ships_in_the_package_and_the_sample_is_fixed():
    passages = all_general_passages()
    assert len(passages) == 300 and len(set(passages)) == 300
    sample = general_passages(48)
    assert len(sample) == 48 and sample == general_passages(48)
    assert any("Hamlet" in p or "lord" in p for p in sample) and any("Python" in p for p in sample)


def test_the_task_file_regression_field(tmp_path: Path):
    plain = parse_task(TASK, tmp_path / "task.yaml")
    assert plain.regression is None and not any(k.startswith("regression") for k in fingerprint(plain))
    task = parse_task(TASK + "regression: {suite: mc.jsonl, max_drop: 0.05, selection: gate}\n", tmp_path / "t.yaml")
    assert task.regression is not None and task.regression.suite == str(tmp_path.resolve() / "mc.jsonl")
    assert task.regression.measure == "accuracy" and task.regression.threshold == 0.05
    assert RegressionConfig().measure == "perplexity" and RegressionConfig().threshold == 0.10
    with pytest.raises(TaskError, match=r"t.yaml:6: regression: Value error, metric accuracy needs a suite"):
        parse_task(TASK + "regression: {metric: accuracy}\n", tmp_path / "t.yaml")
    with pytest.raises(TaskError, match="regression.selection"):
        parse_task(TASK + "regression: {selection: block}\n", tmp_path / "t.yaml")


def test_the_worker_measures_the_figure_when_the_request_asks(tiny_task, tmp_path: Path):
    from trex.run.executor import baseline_job
    from trex.runtime.job import JobRequest
    from trex.runtime.worker import execute

    job = baseline_job(tiny_task, seed=0)
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()  # the scheduler makes a job's folder
    asked = execute(JobRequest(job=job, workdir=str(tmp_path / "a"), regression=RegressionConfig(passages=4)))
    assert asked.general is not None and asked.general.n == 4 and asked.general.seconds > 0
    assert asked.general.seconds < asked.seconds and asked.validation is not None
    assert execute(JobRequest(job=job, workdir=str(tmp_path / "b"))).general is None  # an older run's request
