"""The root's learning-rate probes: a few short runs that choose the rate of the one long run a budget pays for.

A budget too small for a search (``trex.run.budget.probe_root``) still pays for a few short runs before the long
one, and a task's default learning rate is a guess unless the task file set one: trex's own default (2e-4) is a
safe rate for long LoRA runs and a slow one for the few hundred steps a small budget pays for. So the root trains
``ProbeRoot.configs`` probes of ``ProbeRoot.steps`` steps over a grid of rates: the root trains the first (beside
the base-model job), each other probe is a child node of the root (``Plan.later``, ``next_probe``), so the tree
and the report show the search; then the run's last node continues the best probe's weights for the time left
(``trex.agents.heuristic.moves.fill_budget``).

Each probe is the stable phase of a warmup-stable-decay schedule: a constant rate (the schedule truncated, not
compressed into the probe's few steps: a compressed decay ranks rates by how they end a short run, which favours
low rates). The long run continues the winner's weights at its rate and decays it linearly over the time left,
the schedule's decay phase. Probes score the whole validation split, like every job; never the test split.

The grid: an untuned task (no ``learning_rate`` in its ``training:`` section) gets ``UNTUNED_FACTORS`` of the
default, upward, since a short budget wants a higher rate; a tuned one gets ``TUNED_FACTORS``, around its rate.
Beyond three probes (several slots), a doubled LoRA rank at the middle rate, then a rate beyond the grid.
Why these shares and lengths: docs/benchmarks/probes.md.
"""

from __future__ import annotations

from trex.agents.proposals import MAX_LEARNING_RATE
from trex.agents.recipes import resampled, rows_needed
from trex.plan import ConfigSpec, Plan, ProbeRoot
from trex.task.spec import TaskSpec
from trex.train.config import TrainConfig

PROBE_CHANGE = "learning-rate probes"
UNTUNED_FACTORS = (1.0, 3.0, 10.0)
TUNED_FACTORS = (0.5, 1.0, 2.0)


def tuned(task: TaskSpec) -> bool:
    """Whether the task file chose the learning rate (then its probes stay near it)."""
    return "learning_rate" in task.training.model_fields_set


def _grid(base: TrainConfig, n: int, factors: tuple[float, ...]) -> list[tuple[str, TrainConfig]]:
    rates = [float(f"{min(MAX_LEARNING_RATE, base.learning_rate * f):.3g}") for f in factors]
    grid = [(f"probe-lr{rate:g}", base.model_copy(update={"learning_rate": rate})) for rate in rates]
    middle = grid[len(grid) // 2][1]
    if base.lora:
        wider = middle.model_copy(update={"lora_r": middle.lora_r * 2, "lora_alpha": middle.lora_alpha * 2})
        grid.append((f"probe-lr{middle.learning_rate:g}-r{wider.lora_r}", wider))
    beyond = float(f"{min(MAX_LEARNING_RATE, rates[-1] * factors[-1] / factors[-2]):.3g}")
    grid.append((f"probe-lr{beyond:g}", base.model_copy(update={"learning_rate": beyond})))
    distinct: list[tuple[str, TrainConfig]] = []
    for name, train in grid:
        if all(train != other for _, other in distinct):
            distinct.append((name, train))
    return distinct[:n]


def probe_plan(plan: Plan, task: TaskSpec, probes: ProbeRoot, seed: int) -> Plan:
    """The root ``plan`` as probes: its first config over a grid of learning rates, ``probes.steps`` steps each at
    a constant rate, each on its own seeded sample of the root's recipe."""
    first = plan.configs[0]
    base = first.train.model_copy(
        update={"max_steps": probes.steps, "lr_scheduler": "constant", "epochs": None, "max_seconds": None}
    )
    factors = TUNED_FACTORS if tuned(task) else UNTUNED_FACTORS
    recipe = first.recipe or plan.recipe
    configs = []
    for name, train in _grid(base, probes.configs, factors):
        own = resampled(recipe, rows_needed(train), seed) if recipe is not None else None
        configs.append(ConfigSpec(name=name, train=train, recipe=own))
    rates = ", ".join(f"{c.train.learning_rate:g}" for c in configs)
    rationale = (
        f"The budget pays for one long run, and the learning rate {first.train.learning_rate:g} is "
        f"{'the task file' + chr(39) + 's' if tuned(task) else 'an untuned default'}: first {len(configs)} probes of "
        f"{probes.steps} steps at constant rates ({rates}), scored on validation; the best one's weights then train "
        "for the time left, its rate decayed over it."
    )
    first_probe, *later = configs
    return plan.model_copy(
        update={"configs": [first_probe], "later": later, "rationale": rationale, "change": PROBE_CHANGE}
    )


def probe_child(root: Plan, config: ConfigSpec) -> Plan:
    """One probe the root planned, as a child node of its own: the tree shows each rate as a node."""
    rationale = f"{config.name}: one of the root's learning-rate probes ({root.rationale})"
    return Plan(strategy="adjust_training", rationale=rationale, change=PROBE_CHANGE, recipe=root.recipe,
                configs=[config])  # fmt: skip


def next_probe(root: Plan, planned: list[Plan]) -> Plan | None:
    """The root's next probe not yet a node (``planned``: the plans of the root's children), or None."""
    taken = {c.name for plan in planned if plan.change == PROBE_CHANGE for c in plan.configs}
    waiting = [c for c in root.later if c.name not in taken] if is_probe_root(root) else []
    return probe_child(root, waiting[0]) if waiting else None


def is_probe_root(plan: Plan) -> bool:
    """A root of probes, or one of its probes (the test split waits for their long run)."""
    return plan.change == PROBE_CHANGE
