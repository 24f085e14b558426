"""Surrogate proposals for the researchers: the tree's finished jobs -> numeric training settings.

``observation_of`` turns one finished job into an ``Observation`` of ``trex.search.surrogate`` (learning
rate, batch, LoRA rank, warm start or not; the steps it trained, a warm start counting the steps of
the jobs it continues). ``propose_configs`` fits Optuna's TPE on every observation through the
surrogate's ask/tell and turns its proposals into ``TrainConfig``s derived from a base config: the
researcher keeps the structure (scheme, recipe), the surrogate sets the numbers. A proposed warm
start continues the given job and keeps that job's adapter shape (a warm start cannot change it);
its own steps are the proposed total minus the steps already trained.
Jobs of other nodes still in flight (``pending``) enter as RUNNING trials, which TPE's constant liar
counts as bad: a node planned while others run is steered away from what they are trying.
Deterministic: the same observations (and pending jobs) and node seed give the same configs, so a
resumed run proposes what an uninterrupted one did. Below ``MIN_OBSERVATIONS`` finished jobs nothing is proposed;
below ``TRUST_UNTIL`` the proposals stay in a trust region around the base config (``trust_region``: learning
rate x1/4..x4, total steps x1/2..x4), as trust-region Bayesian optimization starts local; past it, the whole space.
"""

from __future__ import annotations

from typing import Any

from trex.plan import ADAPTER_FIELDS, ConfigOutcome
from trex.search.surrogate import Choice, Integer, Observation, Real, SearchSpace, Surrogate, Value
from trex.task.spec import TaskSpec
from trex.train.config import TrainConfig

MIN_OBSERVATIONS = 4  # TPE leaves its random start-up after this many finished jobs
TRUST_UNTIL = 12  # below this many finished jobs the proposals stay in a trust region around the base config
TRUST_RATE = 4.0  # the trust region's learning rate: the base's x1/4..x4
TRUST_STEPS = (0.5, 4.0)  # ... and its total training steps: the base's x1/2..x4 (a warm start: x1.25..x4)
MAX_LEARNING_RATE = 1e-2
RANKS = (4, 8, 16, 32, 64)
BATCHES = (4, 8, 16, 32)


def research_space(task: TaskSpec) -> SearchSpace:
    """The levers around the task's defaults: learning rate x1/20..x20, steps x1/4..x16, batch, rank, warm."""
    default = task.training
    lr_high = min(MAX_LEARNING_RATE, default.learning_rate * 20)
    params: list[Real | Integer | Choice] = [
        Real(name="learning_rate", low=min(lr_high, default.learning_rate / 20), high=lr_high, log=True),
        Integer(name="max_steps", low=max(1, default.max_steps // 4), high=max(2, default.max_steps * 16), log=True),
        Choice(name="batch_size", choices=tuple(sorted({*BATCHES, default.batch_size}))),
        Choice(name="warm_start", choices=(False, True)),
    ]
    if default.lora:
        params.insert(2, Choice(name="lora_r", choices=tuple(sorted({*RANKS, default.lora_r}))))
    return SearchSpace(params=tuple(params))


def trust_region(base: TrainConfig, done: int, warm: bool) -> dict[str, tuple[float, float]]:
    """The bounds around ``base`` (a config whose weights have seen ``done`` steps) that proposals keep to while the
    tree has few observations: with four to a dozen points in five levers, TPE's best guess is close to a draw
    from the prior, at the ends of a range of x1/20..x20 (the demo's surrogate slot proposed lr 6.4e-5 for 155
    steps, and 9.5e-3 for 10). A warm start trains at least a quarter of ``done`` more."""
    low = done * 1.25 if warm else done * TRUST_STEPS[0]
    return {
        "learning_rate": (base.learning_rate / TRUST_RATE, base.learning_rate * TRUST_RATE),
        "max_steps": (max(1.0, low), max(low, done * TRUST_STEPS[1])),
    }


def total_steps(train: TrainConfig, trains: dict[str, TrainConfig], depth: int = 0) -> int:
    """The steps a job's weights have seen: its own, plus those of the chain of jobs it continues."""
    source = trains.get(train.init_from_job or "")
    if source is None or depth > 50:
        return train.max_steps
    return train.max_steps + total_steps(source, trains, depth + 1)


def observation_of(train: TrainConfig, score: float | None, trains: dict[str, TrainConfig]) -> Observation:
    params: dict[str, Value] = {
        "learning_rate": train.learning_rate,
        "batch_size": train.batch_size,
        "warm_start": train.init_from_job is not None,
    }
    if train.lora:
        params["lora_r"] = train.lora_r
    return Observation(params=params, score=score, steps=total_steps(train, trains))


def _as_config(
    proposal: dict[str, Value], base: TrainConfig, source: ConfigOutcome | None, trains: dict[str, TrainConfig]
) -> TrainConfig:
    changes: dict[str, Any] = {"learning_rate": float(proposal["learning_rate"]), "init_from_job": None}
    changes["batch_size"] = int(proposal.get("batch_size", base.batch_size))
    steps = int(proposal.get("max_steps", base.max_steps))
    if "lora_r" in proposal and base.lora:
        rank = int(proposal["lora_r"])
        changes.update(lora_r=rank, lora_alpha=max(1, round(rank * base.lora_alpha / base.lora_r)))
    if proposal.get("warm_start") and source is not None and source.train is not None:
        done = total_steps(source.train, trains)  # the proposal counts every step the weights have seen
        changes["init_from_job"] = source.job_hash
        changes.update({f: getattr(source.train, f) for f in ADAPTER_FIELDS})
        steps = max(1, steps - done)
    changes["max_steps"] = steps
    return base.model_copy(update=changes)


def propose_configs(
    task: TaskSpec,
    observations: list[Observation],
    base: TrainConfig,
    n: int,
    seed: int,
    warm_from: ConfigOutcome | None = None,
    fixed: dict[str, Value] | None = None,
    trains: dict[str, TrainConfig] | None = None,
    pending: list[Observation] | None = None,
) -> list[TrainConfig]:
    """``n`` configs from the surrogate (the best guess first), or none below ``MIN_OBSERVATIONS``.

    ``warm_from`` is the job a proposed warm start continues (None: warm starts are not proposed);
    ``fixed`` pins levers the strategy does not move; ``trains`` (job hash -> config) counts a warm
    start's earlier steps; ``pending`` are the jobs of other nodes in flight."""
    if n <= 0 or sum(o.score is not None for o in observations) < MIN_OBSERVATIONS:
        return []
    pinned = dict(fixed or {})
    if warm_from is None:
        pinned["warm_start"] = False
    space = research_space(task)
    if sum(o.score is not None for o in observations) < TRUST_UNTIL:
        source = warm_from.train if warm_from is not None and warm_from.train is not None else base
        done = total_steps(source, trains or {})
        space = space.within(trust_region(base, done, warm=pinned.get("warm_start") is True))
    surrogate = Surrogate(space, seed=seed % (2**32), startup=MIN_OBSERVATIONS)
    for observation in observations:
        surrogate.tell(observation)
    for job in pending or []:
        surrogate.hold(job.params, job.steps)
    return [_as_config(p, base, warm_from, trains or {}) for p in surrogate.ask(n, pinned)]
