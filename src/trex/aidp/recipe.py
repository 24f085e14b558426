"""Recipes: ordered lists of AIDP operator calls, validated whole before any step runs.

``Recipe.validate_steps`` checks every step's operator name and parameters against the
operator's schema and raises ``RecipeError`` naming the step number and the field. ``run_recipe``
runs the steps in order and returns the dataset with per-step statistics (rows in/out, seconds).
"""

from __future__ import annotations

import time
from typing import Any

from datasets import Dataset
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trex.aidp.operators import OPERATORS, OperatorError, Params


class RecipeError(ValueError):
    """A recipe step is unknown, has a bad parameter, or failed; the message names the step."""


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    op: str
    args: dict[str, Any] = Field(default_factory=dict)


class StepStats(BaseModel):
    step: int
    op: str
    rows_in: int
    rows_out: int
    seconds: float


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: list[Step]

    def validate_steps(self) -> list[Params]:
        """Parse every step's args with its operator's schema; the first problem raises RecipeError."""
        parsed = []
        for number, step in enumerate(self.steps, start=1):
            operator = OPERATORS.get(step.op)
            if operator is None:
                raise RecipeError(
                    f"step {number}: unknown operator {step.op!r} (known: {', '.join(sorted(OPERATORS))})"
                )
            try:
                parsed.append(operator.params.model_validate(step.args))
            except ValidationError as exc:
                err = exc.errors()[0]
                field = ".".join(str(p) for p in err["loc"]) or "(args)"
                raise RecipeError(f"step {number} ({step.op}): {field}: {err['msg']}") from None
        if self.steps and OPERATORS[self.steps[0].op].category != "loader":
            raise RecipeError(f"step 1 ({self.steps[0].op}): a recipe starts with a loader")
        return parsed

    def with_step(self, op: str, **args: Any) -> Recipe:
        return Recipe(steps=[*self.steps, Step(op=op, args=args)])


def run_recipe(recipe: Recipe) -> tuple[Dataset, list[StepStats]]:
    """Validate, then run every step; a failing step raises RecipeError with its number."""
    params = recipe.validate_steps()
    ds: Dataset | None = None
    stats = []
    for number, (step, p) in enumerate(zip(recipe.steps, params, strict=True), start=1):
        rows_in = len(ds) if ds is not None else 0
        start = time.perf_counter()
        try:
            ds = OPERATORS[step.op].fn(ds, p)
        except (OperatorError, ValueError, KeyError) as exc:
            raise RecipeError(f"step {number} ({step.op}): {exc}") from exc
        stats.append(
            StepStats(step=number, op=step.op, rows_in=rows_in, rows_out=len(ds), seconds=time.perf_counter() - start)
        )
    if ds is None:
        raise RecipeError("empty recipe: it needs at least a loader step")
    return ds, stats
