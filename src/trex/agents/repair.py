"""Repairing a failed config: the rules a careful engineer applies first, without an LLM.

``repair_config`` reads a failed job's error class and message and returns a changed config, or
None when no rule applies (the executor then keeps the failure as evidence). Rules, in order:
out of memory -> half the batch with gradient accumulation keeping the effective batch, and
gradient checkpointing; timeout -> half the steps; a data step that reads a missing column or
leaves no rows -> drop that step from the config's recipe; a learning rate that made the loss
non-finite -> a tenth of it. Each repair says what it changed, for the node's record.
"""

from __future__ import annotations

import re

from trex.aidp.recipe import Recipe
from trex.plan import ConfigSpec, Plan

MAX_REPAIR_ROUNDS = 3


def repair_config(
    plan: Plan, config: ConfigSpec, error_class: str | None, error: str
) -> tuple[ConfigSpec, str] | None:
    train, text = config.train, error or ""
    if error_class == "oom" or "out of memory" in text.lower():
        if train.batch_size > 1:
            changed = train.model_copy(
                update={
                    "batch_size": train.batch_size // 2,
                    "gradient_accumulation_steps": train.gradient_accumulation_steps * 2,
                    "gradient_checkpointing": True,
                }
            )
            return config.model_copy(update={"train": changed}), "out of memory: half the batch, 2x accumulation"
        return None
    if error_class == "timeout":
        if train.max_steps > 1:
            changed = train.model_copy(update={"max_steps": max(1, train.max_steps // 2)})
            return config.model_copy(update={"train": changed}), "timeout: half the steps"
        return None
    step = re.search(r"step (\d+) \((\w+)\)", text)
    data_problem = "not in the data" in text or "empty" in text.lower() or "no rows" in text.lower()
    if step and data_problem:
        recipe = plan.recipe_for(config)
        number = int(step.group(1))
        if 1 < number <= len(recipe.steps) and recipe.steps[number - 1].op == step.group(2):
            steps = [s for i, s in enumerate(recipe.steps, start=1) if i != number]
            repaired = config.model_copy(update={"recipe": Recipe(steps=steps)})
            return repaired, f"data step {number} ({step.group(2)}) failed: dropped it"
        return None
    if re.search(r"\bnan\b|\binf\b|non-finite", text.lower()) and train.learning_rate > 1e-7:
        changed = train.model_copy(update={"learning_rate": train.learning_rate / 10})
        return config.model_copy(update={"train": changed}), "non-finite loss: a tenth of the learning rate"
    return None
