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
from peft import LoraConfig, PeftModel, get_peft_model
from pydantic import BaseModel
from transformers import PreTrainedModel, PreTrainedTokenizerBase
from trl import SFTConfig, SFTTrainer

from trex.train.config import TrainConfig


class TrainLog(BaseModel):
    steps: int
    losses: list[tuple[int, float]]  # (step, training loss)
    train_rows: int
    seconds: float
    trainable_params: int


def _peft_model(model: PreTrainedModel, cfg: TrainConfig, init_adapter: Path | None) -> PeftModel:
    if init_adapter is not None:
        return PeftModel.from_pretrained(model, str(init_adapter), is_trainable=True)
    layers = model.config.num_hidden_layers
    top = min(cfg.lora_top_layers, layers) if cfg.lora_top_layers else layers
    lora = LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=cfg.lora_targets,
        layers_to_transform=list(range(layers - top, layers)) if top < layers else None,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lora)


def train_sft(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    dataset: Dataset,
    cfg: TrainConfig,
    out_dir: Path,
    seed: int,
    init_adapter: Path | None = None,
) -> tuple[PreTrainedModel, TrainLog]:
    missing = {"prompt", "completion"} - set(dataset.column_names)
    if missing:
        raise ValueError(f"training data needs prompt/completion columns; missing {sorted(missing)}")
    if len(dataset) == 0:
        raise ValueError("training data is empty after the recipe")
    on_gpu = next(model.parameters()).device.type == "cuda"
    if cfg.method == "lora_sft":
        model = _peft_model(model, cfg, init_adapter)
    args = SFTConfig(
        output_dir=str(out_dir / "trainer"),
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=round(cfg.warmup_ratio * cfg.max_steps),
        weight_decay=cfg.weight_decay,
        max_length=cfg.max_length,
        completion_only_loss=True,
        seed=seed,
        data_seed=seed,
        use_cpu=not on_gpu,
        bf16=on_gpu,
        report_to=[],
        save_strategy="no",
        logging_steps=max(1, cfg.max_steps // 20),
        logging_first_step=True,
        disable_tqdm=True,
        dataloader_num_workers=0,
        gradient_checkpointing=cfg.gradient_checkpointing,
    )
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
    output = trainer.train()
    losses = [(int(e["step"]), float(e["loss"])) for e in trainer.state.log_history if "loss" in e]
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if cfg.method == "lora_sft":
        model.save_pretrained(out_dir / "adapter")
        model = model.merge_and_unload()
    else:
        model.save_pretrained(out_dir / "model")
        tokenizer.save_pretrained(out_dir / "model")
    log = TrainLog(
        steps=int(output.global_step),
        losses=losses,
        train_rows=len(dataset),
        seconds=float(output.metrics.get("train_runtime", 0.0)),
        trainable_params=trainable,
    )
    return model, log
