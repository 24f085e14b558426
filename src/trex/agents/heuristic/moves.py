"""The heuristic researcher's training moves: each named decision of an adjust_training plan.

Each function reads the parent's best config and returns ``Moves``: named training variants, the
rationale, the one-line change, and whether the variants continue the best config's weights (a warm
start keeps the adapter's shape: only a cold start changes the LoRA rank).
- ``train_harder``: a flat learning curve; from scratch, a higher rate, a higher rank (LoRA), more steps.
- ``continue_harder``: collapsed predictions while the loss falls; warm, a higher rate, more steps.
- ``continue_training``: the parent improved; warm on fresh rows, longer where the loss still falls.
- ``widen``: no improvement; a wider sweep from scratch (rank only for LoRA, which has one).
- ``fill_budget``: the run's last node; continue the best config for all the time the budget has left.
"""

from __future__ import annotations

from typing import NamedTuple

from trex.agents.proposals import MAX_LEARNING_RATE
from trex.plan import ConfigOutcome, NodeRecord, TimedRun
from trex.train.config import TrainConfig


class Moves(NamedTuple):
    """One adjust_training decision: named training variants, why, and what changes."""

    configs: list[tuple[str, TrainConfig]]
    rationale: str
    change: str
    warm: bool  # the variants continue the parent's best weights


def variant(train: TrainConfig, **changes: object) -> TrainConfig:
    return train.model_copy(update=changes)


def _faster(cfg: TrainConfig, factor: float) -> float:
    return min(MAX_LEARNING_RATE, cfg.learning_rate * factor)


def lr_name(cfg: TrainConfig) -> str:
    return f"lr{cfg.learning_rate:g}-s{cfg.max_steps}" + (f"-top{cfg.lora_top_layers}" if cfg.lora_top_layers else "")


def train_harder(best: ConfigOutcome) -> Moves:
    """A flat curve: the model is not learning; from scratch, a higher rate, more capacity, more steps."""
    cfg = best.train
    faster = _faster(cfg, 2)
    configs = [
        ("lr-x2", variant(cfg, learning_rate=faster)),
        ("lr-x4", variant(cfg, learning_rate=_faster(cfg, 4))),
    ]
    if cfg.lora:  # a cold start may change the adapter's shape
        configs.append(
            (
                "lr-x2-rank-x2",
                variant(cfg, learning_rate=faster, lora_r=cfg.lora_r * 2, lora_alpha=cfg.lora_alpha * 2),
            )
        )
    configs += [
        ("lr-x2-steps-x2", variant(cfg, learning_rate=faster, max_steps=cfg.max_steps * 2)),
        ("steps-x2", variant(cfg, max_steps=cfg.max_steps * 2)),  # the rate may be at its ceiling
        ("lr-x2-steps-x4", variant(cfg, learning_rate=faster, max_steps=cfg.max_steps * 4)),
    ]
    configs = [(n, variant(c, init_from_job=None)) for n, c in configs]
    rationale = (
        f"The training loss of {best.name} barely moved ({best.first_loss:.3f} -> {best.last_loss:.3f}): "
        "the model is not learning; raise the learning rate and the capacity or length of training."
    )
    return Moves(configs, rationale, "flat learning curve: higher learning rate, rank or steps", warm=False)


def continue_harder(best: ConfigOutcome) -> Moves:
    """Collapsed predictions while the loss falls: keep what was learned (warm, same adapter) and push harder."""
    cfg = variant(best.train, init_from_job=best.job_hash)
    faster = _faster(cfg, 2)
    configs = [
        ("lr-x2", variant(cfg, learning_rate=faster)),
        ("lr-x4", variant(cfg, learning_rate=_faster(cfg, 4))),
        ("lr-x2-steps-x2", variant(cfg, learning_rate=faster, max_steps=cfg.max_steps * 2)),
        ("steps-x2", variant(cfg, max_steps=cfg.max_steps * 2)),
        ("lr-x2-steps-x4", variant(cfg, learning_rate=faster, max_steps=cfg.max_steps * 4)),
    ]
    label, share = max(best.diagnosis.predicted_share.items(), key=lambda kv: kv[1]) if best.diagnosis else ("?", 1)
    rationale = (
        f"{best.name} answers {label!r} for {share:.0%} of the validation inputs while its loss still falls: "
        "it has not learned the task yet. Continue it with a higher learning rate and longer training."
    )
    return Moves(configs, rationale, "collapsed predictions: warm start, higher learning rate, more steps", True)


def continue_training(parent: NodeRecord, best: ConfigOutcome) -> Moves:
    """The parent improved: continue its best weights on fresh rows; longer where its loss still falls."""
    cfg = variant(best.train, init_from_job=best.job_hash)
    lr, steps = cfg.learning_rate, cfg.max_steps
    if best.still_improving():
        configs = [
            ("continue-steps-x2", variant(cfg, max_steps=steps * 2)),
            ("continue", cfg),
            ("continue-lr/2-steps-x2", variant(cfg, learning_rate=lr / 2, max_steps=steps * 2)),
            ("continue-steps-x4", variant(cfg, max_steps=steps * 4)),
            ("continue-lr/2", variant(cfg, learning_rate=lr / 2)),
        ]
        how = "its loss still falls, so train longer (2x, 4x the steps) as well as again"
    else:
        configs = [
            ("continue", cfg),
            ("continue-lr/2", variant(cfg, learning_rate=lr / 2)),
            ("continue-lr/4", variant(cfg, learning_rate=lr / 4)),
            ("continue-lr/2-steps-x2", variant(cfg, learning_rate=lr / 2, max_steps=steps * 2)),
            ("continue-steps-x2", variant(cfg, max_steps=steps * 2)),
        ]
        how = "its loss has levelled off, so continue at the same and lower learning rates"
    rationale = (
        f"Node {parent.id} improved (val {parent.val_score:.3f}); continue the weights of "
        f"its best config {best.name} on fresh rows: {how}."
    )
    return Moves(configs, rationale, f"warm start from {best.name}, fresh rows", warm=True)


def widen(parent: NodeRecord, best: ConfigOutcome) -> Moves:
    """No improvement: a wider sweep from scratch (rank only where there is one: LoRA)."""
    cfg = variant(best.train, init_from_job=None)
    lr, steps = cfg.learning_rate, cfg.max_steps
    third = (
        variant(cfg, lora_r=cfg.lora_r * 2, lora_alpha=cfg.lora_alpha * 2)
        if cfg.lora
        else variant(cfg, learning_rate=lr / 2, max_steps=steps * 2)  # full fine-tuning has no rank
    )
    grid = [
        variant(cfg, learning_rate=_faster(cfg, 2)),
        variant(cfg, max_steps=steps * 2),
        third,
        variant(cfg, learning_rate=lr / 2),
        variant(cfg, learning_rate=_faster(cfg, 2), max_steps=steps * 2),
    ]
    what = "higher learning rate, more steps, " + ("higher rank" if cfg.lora else "a lower rate for longer")
    rationale = f"Node {parent.id} did not improve on its parent; widen the sweep: {what}."
    return Moves(
        [(lr_name(c) + ("-r" + str(c.lora_r) if cfg.lora else ""), c) for c in grid],
        rationale,
        "wider hyperparameter sweep",
        warm=False,
    )


def fill_budget(best: ConfigOutcome, final: TimedRun, n: int) -> Moves:
    """The run's last node: continue the best config's weights for the ``final`` time left (the worker fits the
    steps and schedule into its seconds), and, when more configs run at once, at lower rates too (a long
    continuation tends to want a lower rate, never a higher).

    The continuation starts where one schedule over the whole lineage would be at its point (``tail_rate``): a
    continuation much shorter than what the weights have trained is a gentle tail, not a restart at full rate
    (a few steps restarted at full rate after a long run undid much of it: docs/benchmarks/equal-budget.md);
    a continuation much longer than its parent starts near the config's own rate. A constant-rate parent (the root's
    probes) continues at its rate, decayed linearly over the continuation."""
    cfg = variant(
        best.train, init_from_job=best.job_hash, max_steps=final.steps, max_seconds=final.seconds, epochs=None
    )
    if cfg.lr_scheduler == "constant":  # a probe: the stable phase of warmup-stable-decay; this run is its decay
        cfg = variant(cfg, lr_scheduler="linear")
    steps = final.paced_steps
    lr = tail_rate(best, steps)
    rates = [("finish", lr), ("finish-lr/2", lr / 2), ("finish-lr/4", lr / 4), ("finish-lr/8", lr / 8)]
    rates += [("finish-lr/16", lr / 16)]
    configs = [(name, variant(cfg, learning_rate=rate)) for name, rate in rates[: max(1, n)]]
    rationale = (
        f"The budget has room for one more node only: continue the weights of the best config {best.name} "
        f"(val {best.val_score:.3f}) on fresh rows for the {final.seconds:.0f} s the time left pays for (about "
        f"{steps} steps), steps and schedule fitted to the time, from lr {lr:.3g}: where one schedule over its "
        f"{_trained(best)} steps and these would be."
    )
    return Moves(configs, rationale, f"last node: continue {best.name} for {final.seconds:.0f} s", warm=True)


def _trained(best: ConfigOutcome) -> int:
    assert best.train is not None
    return best.steps if best.steps is not None else best.train.max_steps


def tail_rate(best: ConfigOutcome, more: int) -> float:
    """The learning rate at which a continuation of ``more`` steps of the best config starts: the rate one run of
    its schedule over the steps it trained and these would have at that point (linear: ``lr x more / (done +
    more)``; the worker's linear schedule then decays it over the continuation exactly as that run's tail would;
    a cosine or constant schedule keeps its own shape over the continuation)."""
    assert best.train is not None
    done = _trained(best)
    return best.train.learning_rate * max(best.train.rate_at(done, done + more), 1e-3)
