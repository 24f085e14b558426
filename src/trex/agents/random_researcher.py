"""RandomResearcher: the control of the heuristic researcher; it draws strategies and configs at random.

It plans in the heuristic's own space, so that a comparison measures the decisions and nothing else:
- the root is a baseline on the heuristic's first dataset, with configs drawn around the task's
  defaults;
- each child draws its strategy uniformly from refine_data, synthetic_data and adjust_training,
  and each config draws, independently of every score:
  - a parent config to start from (any that trained);
  - a learning-rate factor of 1/4, 1/2, 1, 2 or 4, a step factor of 1 or 2 and a LoRA-rank factor
    of 1 or 2 (adjust_training);
  - one of the heuristic's recipes (refine_data: balanced and/or length-filtered; synthetic_data:
    1-3 recombined copies);
  - whether to warm-start from that parent config.
A warm start keeps the adapter shape of the config it continues (the plan checker refuses a rank change
on a warm start; the drawn rank factor then has no effect). Failures are repaired by the same rule as
the heuristic's. Draws are seeded by (seed, node seed):
a rerun or a resume plans the same nodes. Used by ``--researcher random`` and
``benchmarks/researcher_vs_random.py``.
"""

from __future__ import annotations

import random

from trex.agents.proposals import MAX_LEARNING_RATE
from trex.agents.recipes import base_recipe, refined_recipes, rows_needed, synthetic_recipes
from trex.agents.researcher import Researcher
from trex.aidp.recipe import Recipe
from trex.plan import ADAPTER_FIELDS, ConfigSpec, Plan, PlanContext
from trex.train.config import TrainConfig

LR_FACTORS = (0.25, 0.5, 1.0, 2.0, 4.0)
STEP_FACTORS = (1, 2)
RANK_FACTORS = (1, 2)
CHILD_STRATEGIES = ("refine_data", "synthetic_data", "adjust_training")


def _draw_training(rng: random.Random, train: TrainConfig) -> TrainConfig:
    rank = rng.choice(RANK_FACTORS)
    return train.model_copy(
        update={
            "learning_rate": min(MAX_LEARNING_RATE, train.learning_rate * rng.choice(LR_FACTORS)),
            "max_steps": train.max_steps * rng.choice(STEP_FACTORS),
            "lora_r": train.lora_r * rank,
            "lora_alpha": train.lora_alpha * rank,
        }
    )


class RandomResearcher(Researcher):
    name = "random"

    def _rng(self, node_seed: int | str) -> random.Random:
        return random.Random(f"random-researcher:{self.seed}:{node_seed}")

    def _root_plan(self) -> Plan:
        rng = self._rng("root")
        default = self.task.training
        configs = [self._config(i, "base", _draw_training(rng, default)) for i in range(self.k)]
        return Plan(
            strategy="establish_baseline",
            rationale="Random control: the heuristic's first dataset with configs drawn around the task's defaults.",
            change="first dataset, random configs",
            recipe=base_recipe(self.task, rows_needed(default), seed=self.seed),
            configs=configs,
        )

    def _plan(self, context: PlanContext) -> Plan:
        """Plan a child of ``parent`` by chance; the history is read only for which configs trained."""
        node_seed = context.seed
        rng = self._rng(node_seed)
        strategy = rng.choice(CHILD_STRATEGIES)
        trained = [o for o in context.parent.outcomes if o.status == "ok" and o.train is not None]
        configs = []
        for i in range(self.k):
            start = rng.choice(trained) if trained else None
            train = start.train if start is not None and start.train is not None else self.task.training
            if strategy == "adjust_training":
                train = _draw_training(rng, train)
            n = rows_needed(train)
            recipe_name, recipe = "base", base_recipe(self.task, n, node_seed)
            if strategy == "refine_data":
                recipe_name, recipe = rng.choice(refined_recipes(self.task, n, node_seed))
            elif strategy == "synthetic_data":
                recipe_name, recipe = rng.choice(synthetic_recipes(self.task, n, node_seed))
            if start is not None and start.train is not None and rng.random() < 0.5:
                adapter = {f: getattr(start.train, f) for f in ADAPTER_FIELDS}  # a warm start keeps the shape
                train = train.model_copy(update={"init_from_job": start.job_hash, **adapter})
            else:
                train = train.model_copy(update={"init_from_job": None})
            configs.append(self._config(i, recipe_name, train, recipe))
        return Plan(
            strategy=strategy,  # type: ignore[arg-type]
            rationale=f"Random control: strategy {strategy} and its configs drawn at random.",
            change=f"random {strategy}",
            recipe=configs[0].recipe or base_recipe(self.task, rows_needed(self.task.training), node_seed),
            configs=configs,
        )

    @staticmethod
    def _config(i: int, recipe_name: str, train: TrainConfig, recipe: Recipe | None = None) -> ConfigSpec:
        warm = "-warm" if train.init_from_job else ""
        name = f"r{i}-{recipe_name}-lr{train.learning_rate:g}-s{train.max_steps}-r{train.lora_r}{warm}"
        return ConfigSpec(name=name, train=train, recipe=recipe)
