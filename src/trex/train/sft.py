"""Supervised fine-tuning with TRL: LoRA (PEFT) or full, on prompt/completion rows.

Only the completion tokens carry loss. A LoRA run may adapt only the top k decoder layers
(``lora_top_layers``): gradients then stop at the lowest adapted layer, which cuts the backward
pass roughly in proportion on CPU. A warm start (``init_adapter``) continues training an
adapter saved by an earlier job. The adapter (or the full weights) and the loss log are saved
in ``out_dir``; the returned model has the adapter merged, ready for fast evaluation.
"""

from __future__ import annotations

from pathlib import Path

from datasets import Dataset
from transformers import PreTrainedModel, PreTrainedTokenizerBase
from trl import SFTConfig, SFTTrainer

from trex.train.common import (
    TrainLog,
    callbacks,
    finish,
    peft_model,
    train_and_log,
    trainer_arguments,
)
from trex.train.config import TrainConfig

__all__ = ["TrainLog", "train_sft"]


def train_sft(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    dataset: Dataset,
    cfg: TrainConfig,
    out_dir: Path,
    seed: int,
    init_adapter: Path | None = None,
    until: float | None = None,
) -> tuple[PreTrainedModel, TrainLog]:
    missing = {"prompt", "completion"} - set(dataset.column_names)
    if missing:
        raise ValueError(f"training data needs prompt/completion columns; missing {sorted(missing)}")
    if len(dataset) == 0:
        raise ValueError("training data is empty after the recipe")
    on_gpu = next(model.parameters()).device.type == "cuda"
    if cfg.lora:
        model = peft_model(model, cfg, init_adapter)
    args = SFTConfig(**trainer_arguments(cfg, out_dir, seed, on_gpu), completion_only_loss=True)
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=callbacks(cfg, out_dir, until),
    )
    log = train_and_log(trainer, model, len(dataset))
    return finish(model, tokenizer, cfg, out_dir), log
