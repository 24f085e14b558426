"""TrainConfig: the hyperparameters of one training run, a pydantic object that crosses processes.

It is part of a Job's specification and therefore of the Job's content hash: two configs that
train the same way must serialize the same way, so every field has a concrete default.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: Literal["lora_sft", "full_sft", "lora_dpo", "full_dpo"] = Field(
        default="lora_sft", description="SFT on prompt/completion rows, or DPO on prompt/chosen/rejected rows"
    )
    learning_rate: float = Field(default=2e-4, gt=0, le=1, description="peak learning rate of the schedule")
    max_steps: int = Field(default=60, ge=1, description="optimizer steps (each of batch_size x accumulation rows)")
    epochs: float | None = Field(default=None, gt=0, description="passes over the data; when set, replaces max_steps")
    batch_size: int = Field(default=8, ge=1, description="rows per forward pass")
    gradient_accumulation_steps: int = Field(
        default=1, ge=1, description="forward passes per optimizer step (a larger effective batch)"
    )
    max_length: int = Field(default=128, ge=8, description="tokens kept of each row (prompt and completion)")
    lr_scheduler: Literal["linear", "cosine", "constant"] = Field(
        default="linear", description="how the learning rate decays after warmup"
    )
    warmup_ratio: float = Field(default=0.0, ge=0, lt=1, description="share of the steps the learning rate ramps up")
    weight_decay: float = Field(default=0.0, ge=0, description="AdamW weight decay")
    gradient_checkpointing: bool = Field(
        default=False, description="recompute activations in the backward pass: less memory, ~30% more compute"
    )
    lora_r: int = Field(default=16, ge=1, description="LoRA rank (adapter size)")
    lora_alpha: int = Field(default=32, ge=1, description="LoRA scale: the update is scaled by alpha / r")
    lora_dropout: float = Field(default=0.0, ge=0, lt=1, description="dropout on the LoRA input")
    lora_targets: list[str] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"], description="module names LoRA adapts"
    )
    lora_top_layers: int | None = Field(
        default=None, ge=1, description="adapt only the top k decoder layers (less backward compute); None: all"
    )
    dpo_beta: float = Field(default=0.1, gt=0, description="DPO: strength of the pull toward the reference model")
    quantization: Literal["none", "4bit"] = Field(
        default="none", description="4bit: QLoRA (4-bit NF4 base weights; CUDA and bitsandbytes, extra 'gpu')"
    )
    init_from_job: str | None = Field(
        default=None, description="hash of a finished job whose adapter this run continues training (warm start)"
    )
    max_seconds: float | None = Field(
        default=None,
        gt=0,
        exclude_if=lambda v: v is None,  # unset leaves every job hash as before
        description="fit training into this many seconds: after a few steps the total (at most max_steps) and the "
        "learning-rate schedule are set to what the measured pace fits; None: exactly max_steps",
    )
    gpus: int | None = Field(
        default=None,
        ge=1,
        le=64,
        exclude_if=lambda v: v is None,  # unset leaves the serialized config, and so every job hash, as before
        description="GPUs the job holds (the trainer spreads each batch over them); None: one (none on a CPU)",
    )

    @property
    def lora(self) -> bool:
        return self.method.startswith("lora")

    @property
    def dpo(self) -> bool:
        return self.method.endswith("dpo")

    def rate_at(self, step: int, total: int) -> float:
        """The share of ``learning_rate`` this config's schedule gives at ``step`` of a run of ``total`` steps
        (warmup included), as the trainer's scheduler does."""
        warmup = self.warmup_ratio * total
        if step < warmup:
            return step / warmup
        if self.lr_scheduler == "constant" or total <= warmup:
            return 1.0
        progress = min(1.0, (step - warmup) / (total - warmup))
        return 1.0 - progress if self.lr_scheduler == "linear" else 0.5 * (1.0 + math.cos(math.pi * progress))

    @model_validator(mode="after")
    def _quantized_needs_lora(self) -> TrainConfig:
        if self.quantization != "none" and not self.lora:
            raise ValueError("quantization '4bit' trains LoRA adapters: use method lora_sft or lora_dpo")
        return self
