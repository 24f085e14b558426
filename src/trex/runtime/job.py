"""Job and JobResult: one fully specified experiment and what came of it.

A Job holds everything that decides its outcome (model, data recipe, training config,
evaluation config, seed, sample cap). Its identity is the content hash of its canonical JSON:
equal hashes mean equal experiments, so a finished result is reused and never run twice.
Where a job runs (folders, adapter paths) lives in ``JobRequest``, outside the hash.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from trex.aidp.recipe import Recipe, StepStats
from trex.evaluation.config import EvalConfig, RegressionConfig
from trex.evaluation.drift import GeneralScore
from trex.evaluation.run import SplitResult
from trex.task.spec import Limits
from trex.train.config import TrainConfig
from trex.train.sft import TrainLog

JOB_VERSION = 1


# A job's training ends by this share of its timeout; the rest is for scoring and saving. The worker enforces it
# (``trex.runtime.base.run_worker``) and a time-fitted run is planned to it (``trex.run.budget.timed``); a config
# planned in steps is capped at 80% at the measured pace (``BudgetLeft.steps_within_timeout``), so a job fitted to
# it trains whole unless the machine slowed. A run that has measured what its jobs cost after training keeps
# less back (``JobRequest.after_train_s``, ``train_reserve``).
TRAIN_SHARE = 0.85


def train_reserve(timeout_s: float, after_train_s: float | None) -> float:
    """Seconds at the end of a job's timeout that its training leaves for scoring and saving: what the run
    measured (``after_train_s``, already with its margin), never more than the unmeasured ``1 - TRAIN_SHARE`` of
    the timeout. On the demo task's 15-minute job timeout the share keeps 135 s back for about 25 s of scoring
    and saving; the one run a small wall-clock budget gets would lose those seconds of training."""
    share = (1 - TRAIN_SHARE) * timeout_s
    return share if after_train_s is None else min(share, after_train_s)


class Job(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = JOB_VERSION
    base_model: str
    recipe: Recipe | None = Field(default=None, description="None with train None: evaluate the base model as is")
    train: TrainConfig | None = None
    eval: EvalConfig
    seed: int = 0
    max_train_samples: int = Field(default=Limits.model_fields["max_train_samples"].default, ge=1)  # the task's
    calibrate: TrainConfig | None = Field(
        default=None,
        exclude_if=lambda v: v is None,  # unset leaves every job hash as before
        description="the base-model job of a wall-clock run: after scoring, time this config's training on the "
        "recipe's rows (the trained model is discarded); the cost per step sizes the root",
    )

    def content_hash(self) -> str:
        canonical = self.model_dump_json(exclude_none=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:20]


class JobRequest(BaseModel):
    """What a worker reads: the job plus where to run it (not part of the identity)."""

    job: Job
    workdir: str
    init_from: str | None = None  # folder of the earlier job named by job.train.init_from_job (warm start)
    # how generate-mode evaluation runs: transformers in the worker, or a vLLM server (same scores, faster on GPU)
    eval_backend: Literal["hf", "vllm"] = "hf"
    # the test split is scored only where it is shown: the base model, the run's best node, a replay
    score_test: bool = False
    # score only the test split of a job that already finished, with the model it saved in ``init_from``
    test_only: bool = False
    # epoch time by which training must end so the job can still score and save inside its timeout (set by
    # ``run_worker``) and the run's budget (set by the loop, ``trex.run.budget.train_deadline``; the sooner holds): a
    # slower machine shortens the training (steps and schedule fitted) instead of timing out
    train_until: float | None = None
    # seconds this job needs after its training (scoring, saving), as the run measured them with a margin
    # (``trex.run.budget.after_train_s``); None: ``1 - TRAIN_SHARE`` of the timeout (``train_reserve``)
    after_train_s: float | None = None
    # path -> SHA-256 of the evaluation files and the metric's code at the run's start (``trex.run.integrity``):
    # checked before the job scores; None (a request of an older run, a replay outside a run) checks nothing
    evaluation_sha256: dict[str, str | None] | None = None
    # the general-ability check to run after validation scoring (``trex.evaluation.general``); None: none (a request
    # of an older run, a replay, a test scoring)
    regression: RegressionConfig | None = None


# "evaluation_changed": an evaluation file or the metric's code differs from the run's start; never repaired
ErrorClass = Literal["exception", "timeout", "oom", "crash", "cancelled", "evaluation_changed"]


class JobResult(BaseModel):
    job_hash: str
    status: Literal["ok", "failed"]
    error: str | None = None
    error_class: ErrorClass | None = None
    validation: SplitResult | None = None
    test: SplitResult | None = None
    train: TrainLog | None = None
    calibration: TrainLog | None = None  # the timed training of a ``calibrate`` job (its model was discarded)
    data_stats: list[StepStats] = []
    seconds: float = 0.0
    gpus: int = Field(default=0, description="GPUs the job held (0 on CPU): charged to the GPU-hour budget")
    gpu_ids: str | None = Field(default=None, description="the CUDA_VISIBLE_DEVICES the job ran with")
    evaluation_check: dict[str, str | None] | None = Field(
        default=None, description="path -> SHA-256 of the evaluation files and metric code as checked before scoring"
    )
    general: GeneralScore | None = Field(
        default=None, description="the model's figure on the general suite and what it cost (trex.evaluation.drift)"
    )

    @property
    def val_score(self) -> float | None:
        return self.validation.score.value if self.validation else None

    @property
    def test_score(self) -> float | None:
        return self.test.score.value if self.test else None

    @classmethod
    def failure(cls, job_hash: str, error: str, error_class: ErrorClass, seconds: float = 0.0) -> JobResult:
        return cls(job_hash=job_hash, status="failed", error=error, error_class=error_class, seconds=seconds)
