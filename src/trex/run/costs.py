"""What a job costs on this run's hardware, as its finished jobs say: fixed seconds, seconds per step, GPUs.

Read from the store, so it survives kills and resumes; None until a job that trained has finished (the root
always starts). The budget (``trex.run.budget``) turns these into the time each job may train.
"""

from __future__ import annotations

import math

from pydantic import BaseModel

from trex.store import Store
from trex.train.config import TrainConfig

# what a stored spec without these fields trained with: TrainConfig's own defaults
_DEFAULT_BATCH = TrainConfig.model_fields["batch_size"].default
_DEFAULT_ACCUMULATION = TrainConfig.model_fields["gradient_accumulation_steps"].default


class StepCost(BaseModel):
    """What a training job costs on this run's hardware: fixed seconds (process, model, data, scoring) and seconds
    per training step, as the finished jobs that trained say."""

    fixed_s: float
    step_s: float
    rows_per_step: float = 0.0  # the mean rows a measured step took (batch x accumulation; 0: not known)

    def steps_in(self, seconds: float) -> int:
        return max(0, math.floor((seconds - self.fixed_s) / self.step_s)) if self.step_s > 0 else 0


class JobEstimate(BaseModel):
    """What one job costs, as the finished jobs of the run say: mean seconds and GPUs held."""

    seconds: float
    gpus: float

    def wall_s(self, jobs: int, slots: int) -> float:
        """Seconds ``jobs`` such jobs take on ``slots`` slots: one job's time per wave."""
        return self.seconds * math.ceil(jobs / max(1, slots))


def job_estimate(store: Store) -> JobEstimate | None:
    """Mean seconds and GPUs of the finished jobs that trained (all finished jobs when none trained yet)."""
    seconds, gpus, count = store.job_means()
    return JobEstimate(seconds=seconds, gpus=gpus) if count else None


def step_cost(store: Store) -> StepCost | None:
    """Fixed and per-step seconds from the finished jobs that trained, the calibration of a wall-clock run's
    base-model job included (its fixed part then also holds the base model's scoring: an overestimate, on the
    safe side); None before any has."""
    rows = store.trained_steps(_DEFAULT_BATCH, _DEFAULT_ACCUMULATION)
    if not rows:
        return None
    fixed = sum(max(0.0, total - train) for total, train, _, _ in rows) / len(rows)
    steps = sum(n for _, _, n, _ in rows)
    return StepCost(
        fixed_s=fixed,
        step_s=sum(train for _, train, _, _ in rows) / steps,
        rows_per_step=sum(n * batch for _, _, n, batch in rows) / steps,
    )
