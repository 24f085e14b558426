"""Direct preference optimization with TRL: LoRA (PEFT) or full, on prompt/chosen/rejected rows.

With LoRA the reference model is the base itself (the adapter switched off), so no second copy of
the model is loaded. ``dpo_beta`` sets how strongly the policy is pulled toward the reference.
The adapter (or the full weights) is saved in ``out_dir`` and the returned model is ready for
evaluation, as for SFT (``trex.train.common``).
"""

from __future__ import annotations

import copy
from pathlib import Path

from datasets import Dataset
from transformers import PreTrainedModel, PreTrainedTokenizerBase
from trl import DPOConfig, DPOTrainer

from trex.train.common import (
    TrainLog,
    callbacks,
    finish,
    peft_model,
    train_and_log,
    trainer_arguments,
)
from trex.train.config import TrainConfig

PREFERENCE_COLUMNS = ("prompt", "chosen", "rejected")


def train_dpo(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    dataset: Dataset,
    cfg: TrainConfig,
    out_dir: Path,
    seed: int,
    init_adapter: Path | None = None,
    until: float | None = None,
) -> tuple[PreTrainedModel, TrainLog]:
    missing = sorted(set(PREFERENCE_COLUMNS) - set(dataset.column_names))
    if missing:
        raise ValueError(
            f"DPO needs prompt/chosen/rejected columns (e.g. from generate_preference_dataset); missing {missing}"
        )
    if len(dataset) == 0:
        raise ValueError("preference data is empty after the recipe")
    dataset = dataset.select_columns(list(PREFERENCE_COLUMNS))
    on_gpu = next(model.parameters()).device.type == "cuda"
    reference = None
    if cfg.lora:
        model = peft_model(model, cfg, init_adapter)
    else:
        reference = copy.deepcopy(model).eval()
    args = DPOConfig(**trainer_arguments(cfg, out_dir, seed, on_gpu), beta=cfg.dpo_beta)
    trainer = DPOTrainer(
        model=model,
        ref_model=reference,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=callbacks(cfg, out_dir, until),
    )
    log = train_and_log(trainer, model, len(dataset))
    return finish(model, tokenizer, cfg, out_dir), log
