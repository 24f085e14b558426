"""Plan and the researcher's view of the history: the typed objects agents exchange.

A Plan is one node's experiment: a strategy, a rationale, a shared data recipe and 1-5 configs
(the task's ``configs_per_plan``; the paper's plans carry 3-5), each a variation of training
hyperparameters and optionally of the data recipe. ``NodeRecord`` is what a researcher may know
of an earlier node: its plan and validation outcomes, never test scores.
"""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from trex.aidp.recipe import Recipe
from trex.evaluation.diagnostics import Diagnosis
from trex.train.config import TrainConfig

Strategy = Literal["establish_baseline", "refine_data", "synthetic_data", "adjust_training"]
STRATEGIES: tuple[str, ...] = ("establish_baseline", "refine_data", "synthetic_data", "adjust_training")


class ConfigSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    train: TrainConfig
    recipe: Recipe | None = Field(default=None, description="overrides the plan's shared recipe for this config")


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    strategy: Strategy
    rationale: str
    change: str = Field(description="one line: what this node changes relative to its parent")
    recipe: Recipe
    configs: list[ConfigSpec] = Field(min_length=1, max_length=5)

    def recipe_for(self, config: ConfigSpec) -> Recipe:
        return config.recipe or self.recipe


class ConfigOutcome(BaseModel):
    """One config's validation outcome (the test split is deliberately absent)."""

    name: str
    job_hash: str
    status: str
    train: TrainConfig | None = None
    val_score: float | None = None
    val_low: float | None = None
    val_high: float | None = None
    error: str | None = None
    diagnosis: Diagnosis | None = None
    first_loss: float | None = None
    last_loss: float | None = None
    train_rows: int | None = None


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
        scored = [o for o in self.outcomes if o.status == "ok" and o.val_score is not None and o.train is not None]
        # ties (common at chance level) go to the config that fit its training data best
        return max(scored, key=lambda o: (o.val_score or 0.0, -(o.last_loss or float("inf")))) if scored else None


class Researcher(Protocol):
    """What the loop asks of a researcher (heuristic or LLM)."""

    name: str

    def root_plan(self) -> Plan: ...

    def plan(
        self,
        parent: NodeRecord,
        grandparent: NodeRecord | None,
        siblings: list[NodeRecord],
        node_seed: int,
        context: str = "",
    ) -> Plan: ...

    def repair(
        self, plan: Plan, config: ConfigSpec, error_class: str | None, error: str
    ) -> tuple[ConfigSpec, str] | None:
        """A changed config and what changed, or None to keep the failure."""
        ...
