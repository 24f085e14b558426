"""EvalConfig: how a model is scored on a task (splits, prompt, answer extraction, metric).

It is both the ``eval`` section of a task file and part of every Job's specification (so part of
the Job's content hash). The test split is scored for reports only; the agents never see it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


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
