"""Calibration: before the root of a wall-clock run, time the task's default config and decide the root's breadth.

``one_run_root`` runs ``CALIBRATION_STEPS`` steps of the task's default config on the standard first
dataset as one job of no node (recorded like any other job, charged to the budget, never run twice:
a resumed run finds it by content hash), then asks ``trex.budget.one_run`` whether the budget is too
small for a search. The ``calibrated`` event records the measured cost and the decision. Without a
wall-clock limit or training data nothing runs and the root is planned as usual. A failed calibration
is recorded (``calibration_failed``) and the root is planned as usual: its own jobs then fail or are
repaired with the real cause.
"""

from __future__ import annotations

from collections.abc import Callable

from trex.agents.plan import ConfigSpec, Plan
from trex.agents.recipes import base_recipe, rows_needed
from trex.budget import OneRun, Usage, one_run, step_cost
from trex.runtime.executor import Executor, config_job
from trex.store import Store
from trex.task import TaskSpec

CALIBRATION_STEPS = 6  # the first step pays one-off costs; the worker's time fit times steps 2-4 the same way


def calibration_plan(task: TaskSpec, seed: int) -> Plan:
    """The calibration job's plan: the default config for ``CALIBRATION_STEPS`` steps on the first dataset."""
    train = task.training.model_copy(update={"max_steps": CALIBRATION_STEPS, "epochs": None})
    return Plan(
        strategy="establish_baseline",
        rationale="time the task's default config before the root of a wall-clock budget",
        change="calibration",
        recipe=base_recipe(task, rows_needed(train), seed=seed),
        configs=[ConfigSpec(name="calibration", train=train)],
    )


def one_run_root(
    store: Store, executor: Executor, task: TaskSpec, seed: int, usage: Callable[[], Usage], say: Callable[[str], None]
) -> OneRun | None:
    """Time the default config (once per run), then the root's one run, or None to search as usual."""
    limits = task.limits
    if limits.wall_clock_minutes is None or task.train_data is None:
        return None
    if step_cost(store) is None:
        plan = calibration_plan(task, seed)
        say(f"timing {CALIBRATION_STEPS} steps of the default config for the wall-clock budget")
        result = executor.calibrate(config_job(task, plan, plan.configs[0], seed))
        if result.status != "ok":
            store.event("calibration_failed", None, error=result.error)
    cost = step_cost(store)
    if cost is None:
        return None
    slots = executor.scheduler.slots
    run = one_run(limits, usage(), cost, limits.configs_per_plan, task.training.max_steps, slots)
    store.event(
        "calibrated", None, step_s=cost.step_s, fixed_s=cost.fixed_s, one_run=run.model_dump() if run else None
    )
    if run is not None:
        say(f"the budget is too small for a search: one run per slot of up to {run.seconds:.0f} s of training")
    return run
