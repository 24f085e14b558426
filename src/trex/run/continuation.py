"""The run's last node, continuing the best config: after the root's probes, and only when it can change the score.

``next_probe_node``: a probe root (``trex.agents.root_probes``) has its other probes run as its children, planned
by the root, not by the researcher. ``after_probes``: once they are done, the long run follows whatever the reserve
rules of ``trex.run.budget.final_run`` say: the probes were planned as the first quarter of one run.

``useful_steps``: a continuation too short to move the validation score beyond its own noise is not a node: it
pays a model load and a validation pass for nothing. The run's own learning curve says how much steps buy: the
best config gained ``score - base`` over its ``done`` steps, and scores on such curves grow about with the log
of the steps, so ``more`` steps are expected to add ``slope x ln((done + more) / done)``. The floor is the
fewest steps whose expected gain exceeds the half-width of the best config's 95% validation interval.
"""

from __future__ import annotations

import math

from trex.agents.root_probes import is_probe_root, next_probe
from trex.plan import Plan, TimedRun
from trex.run.budget import Usage, long_run
from trex.run.costs import step_cost
from trex.search.tree import DONE, Tree
from trex.store import Store
from trex.task.spec import TaskSpec


def next_probe_node(store: Store, tree: Tree) -> Plan | None:
    """The root's next probe, to plan as a child of the root (None: no probe root, or every probe is a node)."""
    if tree.root is None or tree.root.status != DONE:
        return None
    children = [store.node_plan(n.id) for n in tree.nodes.values() if n.parent == tree.root.id]
    return next_probe(store.node_plan(tree.root.id), children)


def after_probes(store: Store, tree: Tree, task: TaskSpec, usage: Usage) -> TimedRun | None:
    """The long run that follows the root's probes once every one is done: the next node, whatever the reserve
    rules say (None: no probe root, a probe still to run or running, a node beyond them, or nothing measured)."""
    if tree.root is None or not is_probe_root(store.node_plan(tree.root.id)):
        return None
    if any(n.status != DONE or not is_probe_root(store.node_plan(n.id)) for n in tree.nodes.values()):
        return None
    if next_probe_node(store, tree) is not None:
        return None
    return long_run(task.limits, usage, step_cost(store))


def useful_steps(score: float, low: float, high: float, base: float, done: int) -> int | None:
    """The fewest continuation steps expected to gain more than the interval's half-width; None when the curve
    shows no learning to extrapolate (the score is not above the base model's, or nothing was trained)."""
    if done <= 0 or score <= base:
        return None
    slope = (score - base) / math.log(done + 1)
    return math.ceil(done * (math.exp((high - low) / 2 / slope) - 1))


def worth_continuing(store: Store, tree: Tree, run: TimedRun) -> int | None:
    """None when ``run`` (a continuation of the best node's best config) may start; else the floor it is below."""
    best, base = tree.best(), (store.get_meta("base") or {}).get("val")
    job = store.job(store.node_row(best.id)["best_job"]) if best is not None else None
    if job is None or job.result is None or job.result.validation is None or job.result.train is None or base is None:
        return None
    interval = job.result.validation.score
    floor = useful_steps(interval.value, interval.low, interval.high, base, job.result.train.steps)
    return floor if floor is not None and run.paced_steps < floor else None
