"""EvalConfig: how a model is scored on a task (splits, prompt, answer extraction, metric); RegressionConfig: the
general-ability check beside it.

EvalConfig is both the ``eval`` section of a task file and part of every Job's specification (so part of
the Job's content hash). The test split is scored for reports only; the agents never see it. RegressionConfig
(the task's ``regression``) travels in a job's request, outside its hash: a measurement beside the score.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator


class EvalConfig(BaseModel):
    """How a model is scored: splits, prompt, answer extraction, metric."""

    model_config = ConfigDict(extra="forbid")

    validation: str = Field(description="path or embedded: reference of the validation split (JSONL/JSON/CSV/Parquet)")
    test: str = Field(description="the test split; scored for reports only, never shown to the agents")
    input_field: str = "text"
    label_field: str = "label"
    prompt_template: str = Field(description="Python format string over the row's fields, e.g. 'Review: {text}'")
    chat_template: bool = Field(
        default=False, description="wrap the prompt as a user turn with the model's chat template (instruct models)"
    )
    mode: Literal["choices", "generate"] = "choices"
    choices: dict[str, str] | None = Field(
        default=None, description="label -> completion text scored by log-likelihood (mode: choices)"
    )
    answer_pattern: str | None = Field(default=None, description="regex with one group extracting the answer")
    max_new_tokens: int = Field(default=32, ge=1)
    metric: str = Field(
        default="accuracy",
        description="accuracy | exact_match | macro_f1 | micro_f1 | multilabel_macro_f1 | multilabel_micro_f1 | "
        "rouge1 | rouge2 | rougeL, or a custom metric module:function",
    )
    group_field: str | None = Field(
        default=None, description="column naming each row's sub-task: the score is the mean over sub-tasks"
    )
    group_metrics: dict[str, str] | None = Field(default=None, description="sub-task -> metric (default: metric)")
    metric_range: tuple[float, float] = (0.0, 1.0)
    max_examples: int | None = Field(default=None, ge=1, description="score at most this many rows per split")

    @model_validator(mode="after")
    def _check(self) -> EvalConfig:
        if self.mode == "choices" and not self.choices:
            raise ValueError("mode 'choices' needs 'choices' (label -> completion text)")
        from trex.evaluation.metrics import check_metric_name

        for name in {self.metric, *(self.group_metrics or {}).values()}:
            check_metric_name(name)  # imports nothing: a custom metric is imported only when a job scores
        if self.group_metrics and not self.group_field:
            raise ValueError("group_metrics needs group_field (the column naming each row's sub-task)")
        lo, hi = self.metric_range
        if hi <= lo:
            raise ValueError(f"metric_range must be increasing, got {list(self.metric_range)}")
        return self


# The drop past which a node is flagged when the task names none: a 10% rise of perplexity on the general text
# (relative to the base model's), 0.02 of accuracy on a multiple-choice suite (absolute).
DEFAULT_MAX_DROP = {"perplexity": 0.10, "accuracy": 0.02}


class RegressionConfig(BaseModel):
    """The task's ``regression``: the general-ability check every scored job runs (``trex.evaluation.general``)
    and how a node whose figure fell past ``max_drop`` from the base model's is treated (``trex.evaluation.drift``).
    """

    model_config = ConfigDict(extra="forbid")

    suite: str | None = Field(
        default=None,
        description="multiple-choice JSONL file (question, choices, answer), relative to the task file; none: "
        "perplexity on the general text that ships with trex",
    )
    metric: Literal["perplexity", "accuracy"] | None = Field(
        default=None, description="perplexity without a suite, accuracy with one (the default of each)"
    )
    max_drop: float | None = Field(
        default=None, gt=0, description="the drop that flags a node: relative rise of perplexity, or accuracy points"
    )
    selection: Literal["report", "gate"] = Field(
        default="report", description="report: flag only; gate: a flagged node never becomes the run's best"
    )
    # the sample is small on purpose: 24 passages of 48 tokens cost about 7-13% of the demo's smallest job on 2 CPU
    # cores (docs/benchmarks/drift.md); more passages narrow the intervals at a proportional cost
    passages: int = Field(default=24, ge=0, description="general passages (or suite questions) scored; 0: no check")
    max_tokens: int = Field(default=48, ge=8, description="each passage is cut to this many tokens")

    @field_validator("suite")
    @classmethod
    def _anchor(cls, suite: str | None, info: ValidationInfo) -> str | None:
        """A relative suite path is the task file's folder's (``parse_task`` passes it as ``base_dir``)."""
        base_dir = (info.context or {}).get("base_dir")
        if suite is None or base_dir is None or Path(suite).is_absolute():
            return suite
        return os.path.normpath(Path(base_dir).resolve() / suite)

    @model_validator(mode="after")
    def _check(self) -> RegressionConfig:
        if self.metric == "accuracy" and self.suite is None:
            raise ValueError("metric accuracy needs a suite (a multiple-choice JSONL file)")
        if self.metric == "perplexity" and self.suite is not None:
            raise ValueError("a suite is scored by accuracy; perplexity is on trex's general text (drop the suite)")
        return self

    @property
    def measure(self) -> Literal["perplexity", "accuracy"]:
        return self.metric or ("accuracy" if self.suite else "perplexity")

    @property
    def threshold(self) -> float:
        return self.max_drop if self.max_drop is not None else DEFAULT_MAX_DROP[self.measure]
