"""The tree's history as observations for numeric proposals: Optuna's TPE through ask/tell, no sampler of our own.

Every finished job is an ``Observation`` (its numeric settings, its validation score or None when it
failed, and the training steps that score was measured at). ``propose`` rebuilds an Optuna study from
the observations (``study.add_trial(optuna.trial.create_trial(...))``) and asks it for ``n`` settings
inside a declared ``SearchSpace``. The researcher keeps the structure (strategy, recipe, scheme); the
surrogate only proposes numbers, and ``fixed`` pins the levers a strategy does not move.

Guarantees:
- Deterministic: the same observations, space, n, seed and fixed values give the same proposals, in
  the same order, so a resumed run proposes exactly what an uninterrupted one did.
- The first proposal is the surrogate's best guess (TPE's highest expected-improvement candidate);
  the others are diversified (constant liar: the pending proposals count as bad while asking).
- Configs still in flight (other nodes' jobs, not finished yet) can be ``hold``-ed, and proposals can be
  kept pending (``ask(hold=...)``) until ``release``: both stay RUNNING trials, which the constant liar
  counts as bad, so nodes planned while others run do not all go where the history points.
- ``SearchSpace.within`` narrows the space to a trust region; observations outside it are clipped into it
  like any others (a score far below the region still says that direction is worse).
- Observations outside the space are clipped into it; settings the space does not declare are ignored;
  a failed observation counts as the worst finished score (the surrogate learns to avoid it).
- The score is measured at ``Observation.steps`` training steps: when the space has a ``max_steps`` lever,
  that is the value the surrogate sees (a probe is a short run, a warm start counts its parent's steps).
Non-guarantees: proposals are not checked against anything but the space (e.g. LoRA settings of a warm
start); with fewer than ``startup`` finished observations they are uniform draws.
``Surrogate`` is the incremental form (tell one observation at a time) for simulations of many runs.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import optuna
from pydantic import BaseModel, ConfigDict, Field

optuna.logging.set_verbosity(optuna.logging.WARNING)

Value = bool | int | float | str


class Real(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: Literal["real"] = "real"
    name: str
    low: float
    high: float
    log: bool = False


class Integer(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: Literal["integer"] = "integer"
    name: str
    low: int
    high: int
    log: bool = False


class Choice(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: Literal["choice"] = "choice"
    name: str
    choices: tuple[Value, ...]


class SearchSpace(BaseModel):
    """The numeric levers the surrogate may set, each with its range."""

    model_config = ConfigDict(frozen=True)
    params: tuple[Real | Integer | Choice, ...] = Field(min_length=1)

    def distributions(self) -> dict[str, optuna.distributions.BaseDistribution]:
        out: dict[str, optuna.distributions.BaseDistribution] = {}
        for p in self.params:
            if isinstance(p, Real):
                out[p.name] = optuna.distributions.FloatDistribution(p.low, p.high, log=p.log)
            elif isinstance(p, Integer):
                out[p.name] = optuna.distributions.IntDistribution(p.low, p.high, log=p.log)
            else:
                out[p.name] = optuna.distributions.CategoricalDistribution(p.choices)
        return out

    def within(self, bounds: dict[str, tuple[float, float]]) -> SearchSpace:
        """This space with the ranges of the named numeric levers intersected with ``bounds`` (a trust region).

        A bound outside a lever's range shrinks it to the range's nearest end; levers not named, and
        choices, keep their range."""
        params: list[Real | Integer | Choice] = []
        for p in self.params:
            if isinstance(p, Choice) or p.name not in bounds:
                params.append(p)
                continue
            low = min(max(p.low, bounds[p.name][0]), p.high)
            high = max(min(p.high, bounds[p.name][1]), low)
            if isinstance(p, Integer):
                low, high = round(low), max(round(low), round(high))
            params.append(p.model_copy(update={"low": low, "high": high}))
        return SearchSpace(params=tuple(params))

    def clip(self, params: dict[str, Any]) -> dict[str, Value]:
        """The declared settings of ``params``, clipped into their ranges (unknown choices are dropped)."""
        out: dict[str, Value] = {}
        for p in self.params:
            if p.name not in params or params[p.name] is None:
                continue
            value = params[p.name]
            if isinstance(p, Real):
                out[p.name] = float(min(p.high, max(p.low, float(value))))
            elif isinstance(p, Integer):
                out[p.name] = int(min(p.high, max(p.low, round(float(value)))))
            elif value in p.choices:
                out[p.name] = value
        return out


def training_space(max_steps: int = 2000) -> SearchSpace:
    """The real researchers' levers, named as ``TrainConfig`` names them."""
    return SearchSpace(
        params=(
            Real(name="learning_rate", low=1e-6, high=1e-3, log=True),
            Integer(name="max_steps", low=10, high=max_steps, log=True),
            Choice(name="lora_r", choices=(4, 8, 16, 32, 64)),
            Choice(name="batch_size", choices=(4, 8, 16, 32)),
            Choice(name="warm_start", choices=(False, True)),
        )
    )


class Observation(BaseModel):
    """One finished job: its settings, its validation score (None: it failed) and the steps it trained."""

    model_config = ConfigDict(frozen=True)
    params: dict[str, Value]
    score: float | None
    steps: int = Field(ge=0)


class Surrogate:
    """An Optuna study fed one observation at a time; ``ask`` proposes settings inside the space."""

    def __init__(
        self,
        space: SearchSpace,
        seed: int,
        steps_param: str | None = "max_steps",
        startup: int = 10,
        multivariate: bool = True,
    ) -> None:
        self.space = space
        self.distributions = space.distributions()
        self.steps_param = steps_param if steps_param in self.distributions else None
        self.sampler = optuna.samplers.TPESampler(
            seed=seed, multivariate=multivariate, n_startup_trials=startup, constant_liar=True
        )
        self.study = optuna.create_study(direction="maximize", sampler=self.sampler)
        self.worst: float | None = None
        self.failed: list[dict[str, Value]] = []

    def tell(self, observation: Observation) -> None:
        params = dict(observation.params)
        if self.steps_param is not None:
            params[self.steps_param] = observation.steps
        params = self.space.clip(params)
        if observation.score is None:
            self.failed.append(params)  # scored once a finished observation gives the worst score
            self._add_failures()
            return
        if self.worst is None or observation.score < self.worst:
            self.worst = observation.score
        self._add(params, observation.score)
        self._add_failures()

    def _add(self, params: dict[str, Value], score: float) -> None:
        dists = {name: self.distributions[name] for name in params}
        self.study.add_trial(optuna.trial.create_trial(params=params, distributions=dists, value=score))

    def _add_failures(self) -> None:
        if self.worst is None:
            return
        for params in self.failed:
            self._add(params, self.worst)
        self.failed = []

    def hold(self, params: dict[str, Value], steps: int) -> int:
        """A config in flight as a RUNNING trial (the constant liar counts it as bad); its trial number."""
        values = dict(params)
        if self.steps_param is not None:
            values[self.steps_param] = steps
        self.study.enqueue_trial(self.space.clip(values), skip_if_exists=False)
        return self.study.ask(self.distributions).number

    def release(self, held: list[int]) -> None:
        """End held trials (their jobs finished: the observations told since replace them)."""
        for number in held:
            self.study.tell(number, state=optuna.trial.TrialState.FAIL)
        held.clear()

    def ask(
        self, n: int, fixed: dict[str, Any] | None = None, hold: list[int] | None = None
    ) -> list[dict[str, Value]]:
        """``n`` proposals, the best guess first; ``fixed`` pins levers (clipped into the space). With ``hold`` the
        proposals stay pending (RUNNING) and their trial numbers are appended to it, for ``release``."""
        pinned = self.space.clip(fixed or {})
        base = self.study.sampler
        if pinned:
            with warnings.catch_warnings():  # PartialFixedSampler is marked experimental since Optuna 2.4
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                self.study.sampler = optuna.samplers.PartialFixedSampler(pinned, base)
        trials = [self.study.ask(self.distributions) for _ in range(n)]
        self.study.sampler = base
        if hold is not None:
            hold.extend(trial.number for trial in trials)
        else:
            for trial in trials:  # pending proposals must not weigh on later asks
                self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        return [dict(trial.params) for trial in trials]


def propose(
    observations: list[Observation],
    space: SearchSpace,
    n: int,
    seed: int,
    fixed: dict[str, Any] | None = None,
    steps_param: str | None = "max_steps",
) -> list[dict[str, Value]]:
    """``n`` settings proposed from the observations (deterministic for a seed; the best guess first)."""
    surrogate = Surrogate(space, seed, steps_param=steps_param)
    for observation in observations:
        surrogate.tell(observation)
    return surrogate.ask(n, fixed)
