"""Calibration: the first job of a wall-clock run times the task's default config; the root's breadth follows.

Under a wall-clock limit (and with training data), the root's base-model job carries a ``calibrate``
config: after scoring the base model it trains ``CALIBRATION_STEPS`` steps of the task's default config
on the standard first dataset, timed, and discards them (``trex.runtime.worker.calibrate``). The loop
runs that job before it plans the root (``one_run_root``; the job is then the root's baseline, found
by content hash, never run twice, and a resumed run finds it too), so the root is planned knowing what a
step and a job cost here: ``trex.run.budget.one_run`` says whether the budget is too small for a search. The
``calibrated`` event records the measured cost and the decision. Without a wall-clock limit or training
data nothing changes. A failed base-model job is recorded as the root's baseline, as without a budget,
and the root is planned as usual.
"""

from __future__ import annotations

from collections.abc import Callable

from trex.agents.recipes import base_recipe, rows_needed
from trex.plan import ConfigSpec, Plan, ProbeRoot
from trex.run.budget import TimedRun, Usage, one_run, probe_root
from trex.run.costs import step_cost
from trex.run.executor import Executor, baseline_job
from trex.store import Store
from trex.task.spec import TaskSpec

CALIBRATION_STEPS = 6  # the first step pays one-off costs; the worker's time fit times steps 2-4 the same way


def calibration_plan(task: TaskSpec, seed: int) -> Plan | None:
    """What the base-model job times: the default config for ``CALIBRATION_STEPS`` steps on the first dataset
    (None without a wall-clock limit or training data: nothing is timed)."""
    if task.limits.wall_clock_minutes is None or task.train_data is None:
        return None
    train = task.training.model_copy(update={"max_steps": CALIBRATION_STEPS, "epochs": None})
    return Plan(
        strategy="establish_baseline",
        rationale="time the task's default config before the root of a wall-clock budget",
        change="calibration",
        recipe=base_recipe(task, rows_needed(train), seed=seed),
        configs=[ConfigSpec(name="calibration", train=train)],
    )


def one_run_root(
    store: Store,
    executor: Executor,
    task: TaskSpec,
    seed: int,
    calibrate: Plan | None,
    usage: Callable[[], Usage],
    say: Callable[[str], None],
) -> TimedRun | ProbeRoot | None:
    """Run the calibrating base-model job (once per run), then the root's shape: learning-rate probes before one long
    run, or one run, or None to search as usual."""
    if calibrate is None:
        return None
    if step_cost(store) is None:
        say(f"scoring the base model and timing {CALIBRATION_STEPS} training steps for the wall-clock budget")
        result = executor.calibrate(baseline_job(task, seed, calibrate))
        if result.status != "ok":
            store.event("calibration_failed", None, error=result.error)
    cost = step_cost(store)
    if cost is None:
        return None
    slots = executor.scheduler.slots
    run = one_run(task.limits, usage(), cost, task.limits.configs_per_plan, task.training.max_steps, slots)
    probes = probe_root(task.limits, usage(), cost, slots) if run is not None else None
    shown = {"one_run": run.model_dump() if run and probes is None else None}
    store.event("calibrated", None, step_s=cost.step_s, fixed_s=cost.fixed_s, **shown, probes=_dump(probes))
    if probes is not None:
        say(f"the budget pays for one long run: {probes.configs} learning-rate probes of {probes.steps} steps first")
        return probes
    if run is not None:
        say(f"the budget is too small for a search: one run per slot of up to {run.seconds:.0f} s of training")
    return run


def _dump(probes: ProbeRoot | None) -> dict | None:
    return probes.model_dump() if probes is not None else None
