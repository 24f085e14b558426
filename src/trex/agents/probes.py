"""Cheap probes (multi-fidelity by ASHA's rule): a new direction trains a third of its steps first; the best go on.

A config of a child plan is a *new direction* when, against the parent's best config, it switches the training
scheme (LoRA and full fine-tuning), moves the learning rate by more than half a decade (a factor above 3.16), or
trains on a structurally new recipe: a step added or removed, not the same steps with other arguments (a
label-balanced sample, a length threshold or fresh rows are refinements). ``mark_probes`` marks such configs
``probe`` in the plan (the plan records it, as it records each config's source); a refinement of a promising config
runs at full length. A config fitted to the wall clock (``max_seconds``, the run's last node) or too short to split
(fewer than ``ETA x MIN_PROBE_STEPS`` steps) is never a probe.

A probe's job (named ``<config>~probe``) trains ``max_steps // ETA`` steps and scores the whole validation split:
probes, full runs, the tree's rewards and the surrogate all compare scores on the same rows (a subset would
make a probe's score another quantity, and on a 200-row split its noise would drown the differences).
When a node has nothing in flight, ``promoted`` decides each probe by ASHA's rule: its score is in the top
1/``ETA`` of every probe score of the tree so far (the probes of earlier nodes, then this node's in plan order;
while there are fewer than ``ETA`` of them, the best so far goes on). A promoted probe continues from its own
weights for the rest of the config's steps on fresh rows of its recipe, as a job of the same node named after the
config (``continuation``: a warm start, so the learning-rate schedule restarts). The decision reads only stored results
in node and plan order, and a promotion is stored as a job before it runs, so a resumed run makes the same
promotions as one never interrupted (with several nodes in flight, an earlier node's probes count once they
have finished).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from trex.agents.recipes import resampled, rows_needed
from trex.aidp.recipe import Recipe
from trex.plan import ConfigOutcome, ConfigSpec, Plan
from trex.runtime.job import Job
from trex.train.config import TrainConfig

ETA = 3  # a probe trains 1/ETA of the steps; the top 1/ETA of probe scores goes on
MIN_PROBE_STEPS = 4
FAR_RATE = math.sqrt(10.0)  # half a decade of learning rate
PROBE_MARK = "~probe"
GUARD_OPS = frozenset({"decontaminate"})  # steps trex adds to every training recipe, not the researcher's choice


def _ops(recipe: Recipe | None) -> list[str]:
    return [s.op for s in recipe.steps if s.op not in GUARD_OPS] if recipe is not None else []


def new_direction(config: ConfigSpec, recipe: Recipe, best: ConfigOutcome) -> str | None:
    """Why ``config`` (training on ``recipe``) is a new direction against the parent's ``best`` config, or None."""
    if best.train is None:
        return None
    train, parent = config.train, best.train
    if train.lora != parent.lora:
        return f"scheme {parent.method} -> {train.method}"
    ratio = train.learning_rate / parent.learning_rate
    if ratio > FAR_RATE or ratio < 1 / FAR_RATE:
        return f"learning rate {parent.learning_rate:g} -> {train.learning_rate:g}"
    if best.recipe is not None and _ops(recipe) != _ops(best.recipe):
        return f"recipe steps {' > '.join(_ops(best.recipe))} -> {' > '.join(_ops(recipe))}"
    return None


def splittable(config: ConfigSpec) -> bool:
    train = config.train
    return train.max_seconds is None and train.epochs is None and train.max_steps // ETA >= MIN_PROBE_STEPS


def mark_probes(plan: Plan, best: ConfigOutcome | None) -> Plan:
    """The plan with every new direction against the parent's ``best`` config marked as a probe (None: a root,
    or a parent without a finished config: nothing to be far from)."""
    if best is None or best.train is None:
        return plan
    configs = [
        c.model_copy(update={"probe": splittable(c) and new_direction(c, plan.recipe_for(c), best) is not None})
        for c in plan.configs
    ]
    return plan.model_copy(update={"configs": configs})


def probe_config(config: ConfigSpec) -> ConfigSpec:
    """The probe of a config: a third of its steps, named ``<config>~probe``."""
    train = config.train.model_copy(update={"max_steps": config.train.max_steps // ETA})
    return config.model_copy(update={"name": config.name + PROBE_MARK, "train": train})


def continuation(config: ConfigSpec, probe: Job, probe_hash: str) -> ConfigSpec:
    """The promoted config: the probe's weights trained for the rest of the config's steps, under the config's name,
    with the probe's own settings (a repaired probe's fixes carry over) on fresh rows of its recipe."""
    assert probe.train is not None and probe.recipe is not None
    rest = max(1, config.train.max_steps - probe.train.max_steps)
    train = probe.train.model_copy(update={"init_from_job": probe_hash, "max_steps": rest})
    recipe = resampled(probe.recipe, rows_needed(train), int(probe_hash[:8], 16))
    return ConfigSpec(name=config.name, train=train, recipe=recipe, source=config.source)


def continues_own_probe(name: str, train: TrainConfig | None, hashes: Mapping[str, str]) -> bool:
    """Whether config ``name``'s job (trained with ``train``) is the continuation of its own probe: it warm-starts
    from the job of ``<name>~probe`` in the same node (``hashes``: the node's config names -> job hashes)."""
    probe = hashes.get(name + PROBE_MARK)
    return probe is not None and train is not None and train.init_from_job == probe


def promoted(score: float, earlier: list[float]) -> bool:
    """ASHA's rule: ``score`` is in the top 1/ETA of the probe scores so far (``earlier`` and itself)."""
    ranked = sorted([*earlier, score], reverse=True)
    return score >= ranked[max(1, len(ranked) // ETA) - 1]
