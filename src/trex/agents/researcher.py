"""Researcher: the one small base every researcher (heuristic, random, LLM) derives from.

A researcher writes the root plan (``root_plan``; a subclass's ``_root_plan``), plans a child from a ``PlanContext``
(``plan``) and repairs a failed config (``repair``; by default the rules of ``repair_config``,
which an LLM researcher extends). ``plan`` checks what a subclass's ``_plan`` returns with the
plan checker's warm-start rule, so no researcher can name a warm start that cannot continue the
job it names. Subclasses are deterministic for a (seed, node seed): a resumed run plans the same.

No config is planned longer than the job timeout allows: once a job has trained, every config's steps
are capped at what 80% of the timeout pays for at the measured cost (``BudgetLeft.steps_within_timeout``),
so a long proposal (the surrogate ranges up to 16x the default steps) trains less instead of timing out.
Under a wall-clock budget a search node's configs are also capped at what leaves the run's last node its
reserve (``BudgetLeft.steps_for_search``, ``trex.run.budget.final_reserve``): the final model's time is not spent
on a config that may lose.

The run's last node under a wall-clock budget (``context.budget.final``, see ``trex.run.budget.final_run``)
is planned here for every researcher: the parent's best config continues on fresh rows of its own
recipe for the time left, steps and schedule fitted to it by the worker, one config per slot
(``moves.fill_budget``).
Likewise the root of a wall-clock budget too small for a search (``trex.run.budget.one_run``): the first
configs of the researcher's own root, one per slot, each training for all the time left.
"""

from __future__ import annotations

from trex.agents.heuristic.moves import fill_budget, lr_name
from trex.agents.recipes import resampled, rows_needed
from trex.agents.repair import repair_config
from trex.agents.root_probes import probe_plan
from trex.plan import BudgetLeft, ConfigSpec, Plan, PlanContext, ProbeRoot, TimedRun, check_warm_starts
from trex.task.spec import TaskSpec


class Researcher:
    name = "researcher"
    needs_train_data = True

    def __init__(self, task: TaskSpec, seed: int = 0) -> None:
        if self.needs_train_data and task.train_data is None:
            raise ValueError(f"the {self.name} researcher needs train_data in the task file")
        self.task = task
        self.seed = seed
        self.k = task.limits.configs_per_plan

    def root_plan(self, one_run: TimedRun | ProbeRoot | None = None, slots: int = 1) -> Plan:
        """The root plan; with ``ProbeRoot`` (a budget that pays for one long run and a few short ones) learning-rate
        probes (``trex.agents.root_probes``); with ``TimedRun`` (too small for even those) its first ``slots``
        configs, each training for ``one_run.seconds`` (at most ``one_run.steps``) on a sample sized for that."""
        plan = self._root_plan()
        if isinstance(one_run, ProbeRoot):
            return probe_plan(plan, self.task, one_run, self.seed)
        if one_run is None:
            return plan
        configs, rows = [], rows_needed(plan.configs[0].train.model_copy(update={"max_steps": one_run.steps}))
        for config in plan.configs:
            train = config.train.model_copy(
                update={"max_steps": one_run.steps, "max_seconds": one_run.seconds, "epochs": None}
            )
            own = resampled(config.recipe, rows, self.seed) if config.recipe else None
            if len(configs) == max(1, slots) or any((c.train, c.recipe) == (train, own) for c in configs):
                continue  # one per slot; a grid point that differed only in its steps is now the same run
            name = lr_name(train) + (f"-{len(configs) + 1}" if any(c.name == lr_name(train) for c in configs) else "")
            configs.append(config.model_copy(update={"name": name, "train": train, "recipe": own}))
        rationale = (
            f"The wall clock left pays for about {one_run.paced_steps} training steps, too few for a search to "
            f"learn from a first round before the budget ends: train for all of it ({one_run.seconds:.0f} s), one "
            "run per slot, steps and schedule fitted to the time."
        )
        recipe = resampled(plan.recipe, rows, self.seed) if plan.recipe else None
        return plan.model_copy(update={"configs": configs, "recipe": recipe, "rationale": rationale,
                                       "change": "one run that fills the budget"})  # fmt: skip

    def _root_plan(self) -> Plan:
        raise NotImplementedError

    def plan(self, context: PlanContext) -> Plan:
        """A child plan of ``context.parent``, checked before it is returned."""
        last = self._last_plan(context)
        budget = context.budget
        if last is not None:
            most = budget.steps_within_timeout()
            plan = _within_timeout(last, (most, "80% of the job timeout") if most is not None else None, budget)
        else:
            plan = _within_timeout(self._plan(context), budget.step_cap(self.k), budget)
        check_warm_starts(plan, context.known_trains())
        return plan

    def _plan(self, context: PlanContext) -> Plan:
        raise NotImplementedError

    def _last_plan(self, context: PlanContext) -> Plan | None:
        """The run's last node: continue the parent's best config for the steps left (None: not the last node)."""
        final, best = context.budget.final, context.parent.best()
        if final is None or best is None or best.train is None or best.recipe is None:
            return None
        moves = fill_budget(best, final, min(self.k, context.budget.slots))
        recipe = resampled(best.recipe, rows_needed(moves.configs[0][1]), context.seed)
        configs = [ConfigSpec(name=name, train=train) for name, train in moves.configs]
        return Plan(strategy="adjust_training", rationale=moves.rationale, change=moves.change, recipe=recipe,
                    configs=configs)  # fmt: skip

    def repair(
        self, plan: Plan, config: ConfigSpec, error_class: str | None, error: str, attempt: int = 1
    ) -> tuple[ConfigSpec, str] | None:
        """A changed config and what changed, or None to keep the failure; ``attempt`` counts from 1."""
        fixed = repair_config(plan, config, error_class, error)
        if fixed is None:
            return None
        repaired, change = fixed
        return repaired.model_copy(update={"source": "repair"}), change


def _within_timeout(plan: Plan, cap: tuple[int, str] | None, budget: BudgetLeft) -> Plan:
    """The plan with every config's steps capped at ``cap`` (steps of the measured kind, and why; None: unchanged); a
    config whose step takes more rows than the measured ones gets proportionally fewer (``BudgetLeft.steps_at``).
    A config that was cut says so (``ConfigSpec.cut``), so the next prompt shows why it trained less."""
    if cap is None:
        return plan
    most, why = cap
    configs = []
    for c in plan.configs:
        steps = budget.steps_at(most, c.train)
        if c.train.max_steps <= steps:
            configs.append(c)
            continue
        cut = f"planned {c.train.max_steps} steps, given {steps}: {why}"
        train = c.train.model_copy(update={"max_steps": steps})
        configs.append(c.model_copy(update={"train": train, "cut": cut}))
    return plan if configs == plan.configs else plan.model_copy(update={"configs": configs})
