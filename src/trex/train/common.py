"""What SFT and DPO training share: the LoRA wrapper, the trainer arguments, and saving the result.

``peft_model`` wraps a model in LoRA (optionally only the top k decoder layers, or continuing an
adapter saved by an earlier job). ``trainer_arguments`` maps a TrainConfig onto the keyword
arguments of TRL's SFTConfig/DPOConfig (steps or epochs, schedule, precision for the device,
no checkpoints, no reporting). ``finish`` saves the adapter (or the full weights) and returns a
model ready for fast evaluation: the adapter merged, except on a 4-bit base, which cannot merge.
``TrainLog`` is what a job reports of its training. ``ProgressCallback`` leaves ``progress.json`` in
the job folder while it trains (``trex run`` shows it with the remaining time). ``TimeFitCallback``
fits a run into ``max_seconds`` of training: it times the first steps, sets the total to the steps the
measured pace fits (never more than ``max_steps``) and re-plans the learning-rate schedule for that
total, so warmup and decay complete as in a run planned for that length from the start.
``callbacks(cfg, out_dir, until)`` is the list every trainer gets (``until``: when the job's training must end).
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from peft import LoraConfig, PeftModel, get_peft_model
from pydantic import BaseModel
from transformers import PreTrainedModel, PreTrainedTokenizerBase, TrainerCallback, get_scheduler

from trex.train.config import TrainConfig

PROGRESS_FILE = "progress.json"


class TrainLog(BaseModel):
    steps: int
    losses: list[tuple[int, float]]  # (step, training loss)
    train_rows: int
    seconds: float
    trainable_params: int
    # the trained rows' completions (for a classification task: their labels), the 20 most common and "(other)"
    sample_labels: dict[str, int] = {}


def peft_model(model: PreTrainedModel, cfg: TrainConfig, init_adapter: Path | None) -> PeftModel:
    if init_adapter is not None:
        return PeftModel.from_pretrained(model, str(init_adapter), is_trainable=True)
    if cfg.quantization == "4bit":
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=cfg.gradient_checkpointing)
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


def trainer_arguments(cfg: TrainConfig, out_dir: Path, seed: int, on_gpu: bool) -> dict[str, Any]:
    steps = {"num_train_epochs": cfg.epochs, "max_steps": -1} if cfg.epochs else {"max_steps": cfg.max_steps}
    return {
        "output_dir": str(out_dir / "trainer"),
        **steps,
        "per_device_train_batch_size": cfg.batch_size,
        "gradient_accumulation_steps": cfg.gradient_accumulation_steps,
        "learning_rate": cfg.learning_rate,
        "lr_scheduler_type": cfg.lr_scheduler,
        "warmup_steps": cfg.warmup_ratio,  # a float in [0, 1) is a ratio of the total steps (transformers 5)
        "weight_decay": cfg.weight_decay,
        "max_length": cfg.max_length,
        "seed": seed,
        "data_seed": seed,
        "use_cpu": not on_gpu,
        "bf16": on_gpu,
        "report_to": [],
        "save_strategy": "no",
        "logging_steps": max(1, cfg.max_steps // 20) if not cfg.epochs else 10,
        "logging_first_step": True,
        "disable_tqdm": True,
        "dataloader_num_workers": 0,
        "activation_checkpointing": cfg.gradient_checkpointing,  # transformers 5 name of gradient checkpointing
    }


class ProgressCallback(TrainerCallback):
    """Writes {step, total, elapsed_s} to ``path`` (atomically, at most once a second, and at the end),
    so a terminal or a live view can show the job's progress and its remaining time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.started = time.monotonic()
        self.last = 0.0

    def _write(self, step: int, total: int) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"step": step, "total": total, "elapsed_s": time.monotonic() - self.started}))
        tmp.replace(self.path)

    def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001, ANN201 (transformers' callback API)
        now = time.monotonic()
        if now - self.last >= 1.0:
            self.last = now
            self._write(state.global_step, state.max_steps)

    def on_train_end(self, args, state, control, **kwargs):  # noqa: ANN001, ANN201
        self._write(state.global_step, state.max_steps)


class TimeFitCallback(TrainerCallback):
    """Fits training into ``seconds``: the pace is timed from the end of the first step (which pays one-off costs);
    after ``timed`` more steps, and again at each quarter of the total, the total becomes the steps that fit the
    time left at the pace so far (at least the steps done, at most ``max_steps``) and the learning-rate schedule is
    rebuilt for that total at the current step (a pace that slows later is caught before the time runs out)."""

    def __init__(self, seconds: float, timed: int = 3, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds, self.timed, self.clock = seconds, timed, clock
        self.started = self.after_first = 0.0
        self.ceiling: int | None = None  # max_steps as configured
        self.total: int | None = None

    def on_train_begin(self, args, state, control, **kwargs):  # noqa: ANN001, ANN201 (transformers' callback API)
        self.started, self.ceiling = self.clock(), state.max_steps

    def on_step_end(self, args, state, control, optimizer=None, lr_scheduler=None, **kwargs):  # noqa: ANN001, ANN201
        step, now = state.global_step, self.clock()
        if step == 1:
            self.after_first = now
            return
        if step < 1 + self.timed or (self.total is not None and step % max(1, self.total // 4)):
            return
        pace = (now - self.after_first) / (step - 1)
        fits = step + math.floor(max(0.0, self.seconds - (now - self.started)) / pace)
        total = max(step, min(self.ceiling or state.max_steps, fits))
        if total != state.max_steps:
            state.max_steps = total
            if optimizer is not None and lr_scheduler is not None and hasattr(lr_scheduler, "lr_lambdas"):
                _replan_schedule(args, optimizer, lr_scheduler, total)
        self.total = total
        if step >= total:
            control.should_training_stop = True


def _replan_schedule(args: Any, optimizer: Any, scheduler: Any, total: int) -> None:
    """Give ``scheduler`` (a LambdaLR) the factors of the same schedule planned for ``total`` steps, and set the
    optimizer's rates for the step it is at."""
    fresh = get_scheduler(
        args.lr_scheduler_type,
        optimizer=optimizer,
        num_warmup_steps=args.get_warmup_steps(total),
        num_training_steps=total,
        scheduler_specific_kwargs=args.lr_scheduler_kwargs,
    )
    scheduler.lr_lambdas = fresh.lr_lambdas
    rates = [group["initial_lr"] * factor(scheduler.last_epoch) for group, factor in
             zip(optimizer.param_groups, scheduler.lr_lambdas, strict=True)]  # fmt: skip
    for group, rate in zip(optimizer.param_groups, rates, strict=True):
        group["lr"] = rate
    scheduler._last_lr = rates  # what get_last_lr() reports (the trainer logs it)


def callbacks(cfg: TrainConfig, out_dir: Path, until: float | None = None) -> list[TrainerCallback]:
    """The callbacks of every trainer: progress, and fitting the run into ``cfg.max_seconds`` and to end by the epoch
    time ``until`` (the job's deadline for training), whichever is sooner, when either is set. A run that fits in
    both trains exactly its ``max_steps``, with the schedule it was planned with."""
    listed: list[TrainerCallback] = [ProgressCallback(out_dir / PROGRESS_FILE)]
    limits = [s for s in (cfg.max_seconds, None if until is None else until - time.time()) if s is not None]
    if limits:
        listed.append(TimeFitCallback(max(0.0, min(limits))))
    return listed


def sample_labels(completions: list[str], most: int = 20) -> dict[str, int]:
    """Counts of the trained rows' completions, the ``most`` most common and the rest as "(other)": the sample's
    label distribution for a classification task, bounded for a generate task."""
    counts = Counter(text.strip() for text in completions)
    top = dict(counts.most_common(most))
    rest = sum(counts.values()) - sum(top.values())
    return top | ({"(other)": rest} if rest else {})


def train_and_log(trainer: Any, model: PreTrainedModel, rows: int) -> TrainLog:
    """Run a TRL trainer and report its steps, losses, rows, seconds and trainable parameters."""
    output = trainer.train()
    return TrainLog(
        steps=int(output.global_step),
        losses=[(int(e["step"]), float(e["loss"])) for e in trainer.state.log_history if "loss" in e],
        train_rows=rows,
        seconds=float(output.metrics.get("train_runtime", 0.0)),
        trainable_params=sum(p.numel() for p in model.parameters() if p.requires_grad),
    )


def finish(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, cfg: TrainConfig, out_dir: Path
) -> PreTrainedModel:
    """Save what was trained in ``out_dir`` (adapter/ or model/); return the model to evaluate."""
    if cfg.lora:
        model.save_pretrained(out_dir / "adapter")
        return model if cfg.quantization == "4bit" else model.merge_and_unload()
    model.save_pretrained(out_dir / "model")
    tokenizer.save_pretrained(out_dir / "model")
    return model
