"""Researcher: the one small base every researcher (heuristic, random, LLM) derives from.

A researcher writes the root plan (``root_plan``), plans a child from a ``PlanContext``
(``plan``) and repairs a failed config (``repair``; by default the rules of ``repair_config``,
which an LLM researcher extends). ``plan`` checks what a subclass's ``_plan`` returns with the
plan checker's warm-start rule, so no researcher can name a warm start that cannot continue the
job it names. Subclasses are deterministic for a (seed, node seed): a resumed run plans the same.

No config is planned longer than the job timeout allows: once a job has trained, every config's steps
are capped at what 80% of the timeout pays for at the measured cost (``BudgetLeft.steps_within_timeout``),
so a long proposal (the surrogate ranges up to 16x the default steps) trains less instead of timing out.

The run's last node under a wall-clock budget (``context.budget.final_steps``, see ``trex.budget``)
is planned here for every researcher: the parent's best config continues on fresh rows of its own
recipe for the steps the time left pays for, one config per slot (``moves.fill_budget``).
"""

from __future__ import annotations

from trex.agents.moves import fill_budget
from trex.agents.plan import ConfigSpec, Plan, PlanContext, check_warm_starts
from trex.agents.recipes import resampled, rows_needed
from trex.agents.repair import repair_config
from trex.task import TaskSpec


class Researcher:
    name = "researcher"
    needs_train_data = True

    def __init__(self, task: TaskSpec, seed: int = 0) -> None:
        if self.needs_train_data and task.train_data is None:
            raise ValueError(f"the {self.name} researcher needs train_data in the task file")
        self.task = task
        self.seed = seed
        self.k = task.limits.configs_per_plan

    def root_plan(self) -> Plan:
        raise NotImplementedError

    def plan(self, context: PlanContext) -> Plan:
        """A child plan of ``context.parent``, checked before it is returned."""
        plan = _within_timeout(self._last_plan(context) or self._plan(context), context.budget.steps_within_timeout())
        check_warm_starts(plan, context.known_trains())
        return plan

    def _plan(self, context: PlanContext) -> Plan:
        raise NotImplementedError

    def _last_plan(self, context: PlanContext) -> Plan | None:
        """The run's last node: continue the parent's best config for the steps left (None: not the last node)."""
        steps, best = context.budget.final_steps, context.parent.best()
        if not steps or best is None or best.train is None or best.recipe is None:
            return None
        moves = fill_budget(best, steps, min(self.k, context.budget.slots))
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


def _within_timeout(plan: Plan, most: int | None) -> Plan:
    """The plan with every config's steps capped at ``most`` (None: unchanged)."""
    if most is None or all(c.train.max_steps <= most for c in plan.configs):
        return plan
    configs = [
        c.model_copy(update={"train": c.train.model_copy(update={"max_steps": min(c.train.max_steps, most)})})
        for c in plan.configs
    ]
    return plan.model_copy(update={"configs": configs})
