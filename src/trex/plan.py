"""Plan and the researcher's view of the history: the typed objects agents exchange.

A Plan is one node's experiment: a strategy, a rationale, a shared data recipe and 1-5 configs
(the task's ``configs_per_plan``; the paper's plans carry 3-5), each a variation of training
hyperparameters and optionally of the data recipe, and each saying where it came from (``source``:
the researcher, the surrogate's proposal, or a repair). ``NodeRecord`` is what a researcher may
know of an earlier node: its plan and validation outcomes, never test scores. ``PlanContext`` is
everything a researcher is given to plan one child. ``check_warm_starts`` is the plan checker's
rule for warm starts: a warm start continues an earlier job's weights, so its scheme (LoRA or full)
and, for LoRA, its adapter shape (rank, alpha, targets, layers) must equal that job's; ``check_training_format``,
for the rows: a ``format_for_training`` step must give them the shape the evaluation scores.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from trex.aidp.recipe import Recipe, StepStats
from trex.evaluation.config import EvalConfig
from trex.evaluation.diagnostics import Diagnosis
from trex.evaluation.ranking import best_config
from trex.evaluation.run import BadCase
from trex.evaluation.shape import format_problem
from trex.sandbox.runner import code_refusal
from trex.search.surrogate import Observation
from trex.train.config import TrainConfig

Strategy = Literal["establish_baseline", "refine_data", "synthetic_data", "adjust_training"]
Source = Literal["researcher", "surrogate", "repair"]
# what a warm start keeps from the job it continues: the adapter's shape must be the same
BASELINE = "base-model"  # the name of the base-model job among a node's configs
ADAPTER_FIELDS = ("lora_r", "lora_alpha", "lora_dropout", "lora_targets", "lora_top_layers")


class ConfigSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    train: TrainConfig
    recipe: Recipe | None = Field(default=None, description="overrides the plan's shared recipe for this config")
    source: Source = Field(default="researcher", description="who chose this config's numbers")
    probe: bool = Field(
        default=False,
        exclude_if=lambda v: not v,  # unset leaves every stored plan's JSON as before
        description="a new direction (set by trex, ``trex.agents.probes``): a third of its steps first, the rest "
        "when ASHA's rule promotes it",
    )
    cut: str | None = Field(
        default=None,
        exclude_if=lambda v: v is None,  # unset leaves every stored plan's JSON as before
        description="set by trex when it capped this config's steps: planned and given steps, and why",
    )


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    strategy: Strategy
    rationale: str
    change: str = Field(description="one line: what this node changes relative to its parent")
    recipe: Recipe
    configs: list[ConfigSpec] = Field(min_length=1, max_length=5)
    later: list[ConfigSpec] = Field(
        default=[],
        max_length=4,
        exclude_if=lambda v: not v,  # only the root's probes have any: other plans serialize as before
        description="configs planned with this node, each to run as a child node of its own",
    )

    def recipe_for(self, config: ConfigSpec) -> Recipe:
        return config.recipe or self.recipe


class ConfigOutcome(BaseModel):
    """One config's validation outcome (the test split is deliberately absent)."""

    name: str
    job_hash: str
    status: str
    train: TrainConfig | None = None
    recipe: Recipe | None = None  # the recipe the job ran (trex's guards included)
    val_score: float | None = None
    val_low: float | None = None
    val_high: float | None = None
    val_groups: dict[str, float] | None = None
    error: str | None = None
    diagnosis: Diagnosis | None = None
    first_loss: float | None = None
    last_loss: float | None = None
    losses: list[tuple[int, float]] = []
    train_rows: int | None = None
    sample_labels: dict[str, int] = {}  # the trained rows' completions (labels), bounded: see TrainLog
    steps: int | None = None
    seconds: float | None = None
    data_stats: list[StepStats] = []
    bad_cases: list[BadCase] = []

    def still_improving(self, min_drop: float = 0.02) -> bool:
        """The training loss of the last third of the curve is still below the middle third's by ``min_drop``
        (relative): more steps would likely help."""
        values = [loss for _, loss in self.losses]
        if len(values) < 6:
            return self.first_loss is not None and self.last_loss is not None and self.last_loss < self.first_loss
        third = len(values) // 3
        middle = sum(values[third : 2 * third]) / third
        last = sum(values[2 * third :]) / len(values[2 * third :])
        return middle > 0 and (middle - last) / middle >= min_drop


class NodeRecord(BaseModel):
    id: int
    parent: int | None
    depth: int
    strategy: str
    status: str
    plan: Plan
    outcomes: list[ConfigOutcome] = []
    val_score: float | None = None
    reward: float | None = None
    summary: str = ""

    def best(self) -> ConfigOutcome | None:
        trained = [o for o in self.outcomes if o.status == "ok" and o.train is not None]
        return best_config(trained, lambda o: o.val_score, lambda o: o.last_loss)


# A time-fitted run may train up to this many times the steps the measured pace fits: the worker fits its steps
# and schedule to its own pace after its first steps, so the ceiling only binds when the pace is faster than
# measured (the calibration's first process, on a cold file cache, is slower than the run; the plain arm of
# ``benchmarks/equal_budget.py`` keeps the same ceiling).
STEP_CEILING = 2


class ProbeRoot(BaseModel):
    """A root of short learning-rate probes before the run's one long run (``trex.agents.root_probes``)."""

    configs: int
    steps: int


class TimedRun(BaseModel):
    """Training fitted to the wall clock (a one-run root, the run's last node): each config trains ``seconds`` (the
    worker fits its steps and schedule into them, ``TrainConfig.max_seconds``), at most ``steps``
    (``STEP_CEILING`` times what the measured pace fits)."""

    steps: int
    seconds: float

    @property
    def paced_steps(self) -> int:
        """The steps the measured pace fits in ``seconds``."""
        return self.steps // STEP_CEILING


class BudgetLeft(BaseModel):
    """What is left of the run's budget when a node is planned (None: no such limit)."""

    nodes: int | None = None
    seconds: float | None = None
    final: TimedRun | None = None  # the run's last node: continue the best config for this training time
    slots: int = 1  # jobs the scheduler runs at once
    step_s: float | None = None  # measured seconds per training step (None: no job has trained yet)
    step_rows: float | None = None  # the rows (batch x accumulation) a measured step took, on the mean
    job_fixed_s: float | None = None  # measured seconds per job besides its steps (process, model, scoring)
    job_timeout_s: float | None = None  # a job running longer is killed
    search_s: float | None = None  # what a search node may take and leave the last node its reserve (trex.run.budget)

    def steps_within_timeout(self, share: float = 0.8) -> int | None:
        """The most steps a job can train in ``share`` of the job timeout, by the measured costs (None: unknown)."""
        if not self.step_s or self.job_timeout_s is None:
            return None
        return max(1, int((self.job_timeout_s * share - (self.job_fixed_s or 0.0)) / self.step_s))

    def steps_for_search(self, configs: int) -> int | None:
        """The most steps each of a search node's ``configs`` can train (its own steps: a warm start pays only
        those) so that the node, in waves over the slots, ends within ``search_s`` (None: no such limit)."""
        if not self.step_s or self.search_s is None:
            return None
        waves = math.ceil(configs / max(1, self.slots))
        return max(1, int((self.search_s / waves - (self.job_fixed_s or 0.0)) / self.step_s))

    def step_cap(self, configs: int) -> tuple[int, str] | None:
        """The most steps (of the measured rows) each of a node's ``configs`` will get, and why; None: no cap yet."""
        caps = []
        timeout = self.steps_within_timeout()
        if timeout is not None:
            caps.append((timeout, f"80% of the {self.job_timeout_s / 60:g}-minute job timeout"))  # type: ignore[operator]
        search = self.steps_for_search(configs)
        if search is not None:
            caps.append((search, "the time this search node may take and leave the run's last node its reserve"))
        if not caps:
            return None
        most, why = min(caps)
        return most, f"{why}, at {self.step_s:.2f} s a step"

    def steps_at(self, steps: int, train: TrainConfig) -> int:
        """``steps`` counted at the measured step's rows, as steps of ``train``: a step of twice the rows (batch x
        accumulation) costs about twice the seconds on a compute-bound machine, so it gets half the steps."""
        rows = train.batch_size * train.gradient_accumulation_steps
        if not self.step_rows or rows <= self.step_rows:
            return steps
        return max(1, int(steps * self.step_rows / rows))


class PlanContext(BaseModel):
    """Everything a researcher is given to plan one child of ``parent``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    parent: NodeRecord
    grandparent: NodeRecord | None = None
    siblings: list[NodeRecord] = []
    memory: str = ""  # the condensed memory context of the tree (text)
    seed: int = 0  # the node's seed: every draw of the plan derives from it
    budget: BudgetLeft = BudgetLeft()
    observations: list[Observation] = []  # every finished job of the tree, for the surrogate
    pending: list[Observation] = []  # the jobs of other nodes in flight: the surrogate counts them as bad (liar)
    trains: dict[str, TrainConfig] = {}  # job hash -> training config, for every finished job of the tree
    in_flight: list[NodeRecord] = []  # the other nodes still running, elsewhere in the tree (not the siblings)

    def known_trains(self) -> dict[str, TrainConfig]:
        """Training configs of the jobs a warm start may name (the tree's finished jobs and this node's family)."""
        known = dict(self.trains)
        for record in [self.parent, self.grandparent, *self.siblings]:
            for o in record.outcomes if record is not None else []:
                if o.status == "ok" and o.train is not None:
                    known[o.job_hash] = o.train
        return known


def warm_start_problem(train: TrainConfig, source: TrainConfig | None) -> str | None:
    """Why ``train`` cannot continue ``source``'s weights, or None when it can."""
    if train.init_from_job is None:
        return None
    if source is None:
        return f"init_from_job {train.init_from_job} is not a finished job of this tree"
    if train.lora != source.lora:
        return f"init_from_job {train.init_from_job} trained with {source.method}: a warm start keeps the scheme"
    if train.lora:
        changed = [f for f in ADAPTER_FIELDS if getattr(train, f) != getattr(source, f)]
        if changed:
            details = ", ".join(f"{f} {getattr(source, f)} -> {getattr(train, f)}" for f in changed)
            return f"a warm start continues the saved adapter, whose shape it cannot change ({details})"
    return None


def check_warm_starts(plan: Plan, known: dict[str, TrainConfig]) -> None:
    """Raise ValueError naming the first config whose warm start cannot continue the job it names."""
    for config in plan.configs:
        problem = warm_start_problem(config.train, known.get(config.train.init_from_job or ""))
        if problem:
            raise ValueError(f"config {config.name!r}: {problem}")


def check_training_format(plan: Plan, ev: EvalConfig) -> None:
    """Raise ValueError naming the first SFT config whose last ``format_for_training`` step fails ``format_problem``
    (a recipe without that step is not checked)."""
    for config in plan.configs:
        steps = [s for s in plan.recipe_for(config).steps if s.op == "format_for_training"]
        problem = format_problem(steps[-1].args, ev) if steps and not config.train.dpo else None
        if problem:
            raise ValueError(f"config {config.name!r}: the recipe's format_for_training step: {problem}")


def check_plan(plan: Plan, known: dict[str, TrainConfig], ev: EvalConfig) -> None:
    """The plan checker's rules on one plan: warm starts that can continue, training rows of the evaluation's shape."""
    check_warm_starts(plan, known)
    check_training_format(plan, ev)


def check_code_steps(plan: Plan) -> None:
    """Raise ValueError naming the first config whose recipe runs LLM-written code where no strong sandbox exists."""
    steps = [(c.name, step) for c in plan.configs for step in plan.recipe_for(c).code_steps()]
    refusal = code_refusal() if steps else None
    if refusal:
        name, step = steps[0]
        raise ValueError(f"config {name!r}: {step} runs custom code, but {refusal}: filter with an expression instead")
