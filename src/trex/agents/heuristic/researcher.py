"""HeuristicResearcher: the offline researcher (no LLM) that plans like a careful engineer.

Root: establish a baseline: the first working dataset (load, dedup, filter, seeded sample, format)
and a learning-rate grid around the task's default hyperparameters.

Children, from the parent's best config (validation only) and what its other children tried:
- all of the parent's configs failed -> ``adjust_training``: safer settings (lower learning rate,
  smaller batch), so the failure is repaired rather than repeated;
- one label's validation error rate exceeds another's by more than ``IMBALANCE_GAP`` ->
  ``refine_data``: a label-balanced sample, with and without a length filter;
- the training data are scarce (fewer unique rows than the steps need) -> ``synthetic_data``:
  new rows recombined from same-label rows (``augment_by_recombination``);
- a flat learning curve (the loss fell by less than ``FLAT_DROP`` of its start) -> ``adjust_training``
  from scratch: a higher learning rate, a higher LoRA rank, more steps;
- collapsed predictions (one label for at least ``COLLAPSE_SHARE`` of the inputs) while the loss still
  falls -> ``adjust_training``: continue it (warm start) with a higher learning rate and more steps;
- the parent improved on its own parent -> continue its best weights on fresh rows; when its loss
  curve still falls, train longer (more steps) rather than only at lower rates;
- otherwise a wider sweep from scratch: learning rate, steps, rank (LoRA) or a lower rate (full).
A warm start never changes the adapter's shape (the plan checker refuses it). In adjust_training
plans the surrogate (Optuna TPE over every finished job of the tree) proposes the numbers of one
slot, and of more when the named moves run out; each config records where it came from. A strategy
already tried under the same parent moves to the back of the queue, and so does a move (a training
config, a data variant) that a sibling still in flight planned: children planned before their
siblings' results are in spread over the parent's moves instead of repeating them (``_spread``; with
one node at a time nothing is in flight and nothing changes). Deterministic given the tree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from trex.agents.heuristic.moves import Moves, continue_harder, continue_training, lr_name, train_harder, widen
from trex.agents.proposals import MAX_LEARNING_RATE, propose_configs
from trex.agents.recipes import balanced_by_metric, base_recipe, refined_recipes, rows_needed, synthetic_recipes
from trex.agents.researcher import Researcher
from trex.plan import ConfigOutcome, ConfigSpec, Plan, PlanContext
from trex.search.tree import RUNNING
from trex.train.config import TrainConfig

__all__ = ["HeuristicResearcher", "MAX_LEARNING_RATE", "base_recipe", "refined_recipes", "rows_needed"]
__all__ += ["synthetic_recipes"]

IMBALANCE_GAP = 0.2
FLAT_DROP = 0.05  # a training loss that fell by less than 5% of its start did not learn
T = TypeVar("T")
COLLAPSE_SHARE = 0.9  # one label in 90% of the predictions: the model has not learned the task


def _variant(train: TrainConfig, **changes: object) -> TrainConfig:
    return train.model_copy(update=changes)


def _same_name(name: str, _: object, planned: ConfigSpec) -> bool:
    return planned.name == name


def _same_train(_: str, train: TrainConfig, planned: ConfigSpec) -> bool:
    return planned.train == train


def _distinct(configs: list[tuple[str, TrainConfig]]) -> list[tuple[str, TrainConfig]]:
    kept: list[tuple[str, TrainConfig]] = []
    for name, cfg in configs:
        if all(cfg != other for _, other in kept):
            kept.append((name, cfg))
    return kept


def _spread(moves: list[tuple[str, T]], context: PlanContext, same: Callable[[str, T, ConfigSpec], bool]) -> list:
    """``moves`` with those that a sibling still in flight planned moved to the back, in order."""
    planned = [c for sibling in context.siblings if sibling.status == RUNNING for c in sibling.plan.configs]
    return sorted(moves, key=lambda move: sum(same(move[0], move[1], c) for c in planned))


class HeuristicResearcher(Researcher):
    name = "heuristic"

    def _root_plan(self) -> Plan:
        default = self.task.training
        grid = [
            default,
            _variant(default, learning_rate=default.learning_rate / 2),
            _variant(default, learning_rate=default.learning_rate * 2),
            *([_variant(default, lora_r=default.lora_r * 2)] if default.lora else []),
            _variant(default, max_steps=default.max_steps * 2),
        ]
        balanced = " (label-balanced: the metric weighs every label the same)" * balanced_by_metric(self.task.eval)
        return Plan(
            strategy="establish_baseline",
            rationale=f"Evaluate the base model as is, then train on a first cleaned sample{balanced} with a small "
            "learning-rate grid around the task's defaults.",
            change="first dataset and hyperparameter grid",
            recipe=base_recipe(self.task, rows_needed(default), seed=self.seed),
            configs=[ConfigSpec(name=lr_name(c), train=c) for c in grid[: self.k]],
        )

    def _plan(self, context: PlanContext) -> Plan:
        """Plan a child of the context's parent from its structured records (the memory text is not parsed)."""
        best = context.parent.best()
        if best is None:
            return self._after_failures(context)
        wants = self._ranked(best)
        tried = [s.strategy for s in context.siblings]
        strategy = min(wants, key=lambda s: (tried.count(s), wants.index(s)))
        if strategy == "refine_data":
            return self._refine_data(best, context)
        if strategy == "synthetic_data":
            return self._synthetic(best, context)
        return self._adjust_training(context, best)

    # what the evidence says ------------------------------------------------------------------
    def _flat(self, best: ConfigOutcome) -> bool:
        first, last = best.first_loss, best.last_loss
        return first is not None and last is not None and first > 0 and (first - last) / first < FLAT_DROP

    def _collapsed(self, best: ConfigOutcome) -> bool:
        """The model gives one label for nearly every input although the references have several."""
        d = best.diagnosis
        if d is None or not d.predicted_share or sum(1 for v in d.support_by_label.values() if v) < 2:
            return False
        return max(d.predicted_share.values()) >= COLLAPSE_SHARE

    def _ranked(self, best: ConfigOutcome) -> list[str]:
        if self._flat(best) or self._collapsed(best):  # nothing else helps a model that has not learned yet
            return ["adjust_training", "refine_data", "synthetic_data"]
        ranked = ["adjust_training"]
        rates = best.diagnosis.error_rate_by_label if best.diagnosis else {}
        imbalanced = bool(rates) and max(rates.values()) - min(rates.values()) > IMBALANCE_GAP
        ranked.insert(0 if imbalanced else 1, "refine_data")
        scarce = best.train_rows is not None and best.train is not None and best.train_rows < rows_needed(best.train)
        ranked.insert(0 if scarce else len(ranked), "synthetic_data")
        return ranked

    @staticmethod
    def _improved(context: PlanContext) -> bool:
        parent, grandparent = context.parent, context.grandparent
        if parent.val_score is None:
            return False
        return grandparent is None or grandparent.val_score is None or parent.val_score > grandparent.val_score

    # data strategies -------------------------------------------------------------------------
    def _refine_data(self, best: ConfigOutcome, context: PlanContext) -> Plan:
        train = _variant(best.train, init_from_job=best.job_hash)  # keep what was learned; change the data
        variants = _spread(refined_recipes(self.task, rows_needed(train), context.seed), context, _same_name)
        rates = best.diagnosis.error_rate_by_label if best.diagnosis else {}
        return Plan(
            strategy="refine_data",
            rationale=f"Best config {best.name} errs unevenly across labels ({rates}); rebalance the sample and "
            "drop very short inputs, training the same way.",
            change="label-balanced sample, length filter",
            recipe=variants[0][1],
            configs=[ConfigSpec(name=name, train=train, recipe=recipe) for name, recipe in variants[: self.k]],
        )

    def _synthetic(self, best: ConfigOutcome, context: PlanContext) -> Plan:
        train = best.train
        recipes = _spread(synthetic_recipes(self.task, rows_needed(train), context.seed), context, _same_name)
        return Plan(
            strategy="synthetic_data",
            rationale=f"Only {best.train_rows} training rows for {rows_needed(train)} sample slots: construct new "
            "rows by recombining sentences of same-label rows.",
            change="synthetic rows by same-label recombination",
            recipe=recipes[0][1],
            configs=[ConfigSpec(name=name, train=train, recipe=recipe) for name, recipe in recipes[: self.k]],
        )

    # training strategies ---------------------------------------------------------------------
    def _adjust_training(self, context: PlanContext, best: ConfigOutcome) -> Plan:
        if self._flat(best):
            moves = train_harder(best)
        elif self._collapsed(best):
            moves = continue_harder(best)
        elif self._improved(context):
            moves = continue_training(context.parent, best)
        else:
            moves = widen(context.parent, best)
        return Plan(
            strategy="adjust_training",
            rationale=moves.rationale,
            change=moves.change,
            recipe=base_recipe(self.task, rows_needed(best.train), seed=context.seed),
            configs=self._with_proposals(context, best, moves),
        )

    def _with_proposals(self, context: PlanContext, best: ConfigOutcome, moves: Moves) -> list[ConfigSpec]:
        """The named moves, one slot (and every slot the moves leave empty) given to the surrogate's proposals."""
        named = _spread(_distinct(moves.configs), context, _same_train)
        proposals = propose_configs(
            self.task,
            context.observations,
            best.train,
            n=self.k,
            seed=context.seed,
            warm_from=best if moves.warm else None,
            fixed={"warm_start": moves.warm},
            trains=context.known_trains(),
            pending=context.pending,
        )
        proposed = [(f"surrogate-{i + 1}", cfg) for i, cfg in enumerate(proposals)]
        keep = self.k - 1 if proposed else self.k
        chosen = _distinct(named[:keep] + proposed + named[keep:])[: self.k]
        sources = {name: ("surrogate" if name.startswith("surrogate-") else "researcher") for name, _ in chosen}
        return [ConfigSpec(name=n, train=c, source=sources[n]) for n, c in chosen]  # type: ignore[arg-type]

    def _after_failures(self, context: PlanContext) -> Plan:
        parent = context.parent
        errors = sorted({o.error or "" for o in parent.outcomes if o.status != "ok"})
        base = self.task.training
        grid = [
            (
                "lr/2-batch/2",
                _variant(base, learning_rate=base.learning_rate / 2, batch_size=max(1, base.batch_size // 2)),
            ),
            ("lr/4", _variant(base, learning_rate=base.learning_rate / 4)),
            ("length/2", _variant(base, max_length=max(32, base.max_length // 2))),
            ("lr/10", _variant(base, learning_rate=base.learning_rate / 10)),
            (
                "batch/4-checkpointing",
                _variant(base, batch_size=max(1, base.batch_size // 4), gradient_checkpointing=True),
            ),
        ]
        return Plan(
            strategy="adjust_training",
            rationale=f"Every config of node {parent.id} failed ({'; '.join(errors)[:300]}); "
            "retry with safer settings.",
            change="safer training settings after failures",
            recipe=base_recipe(self.task, rows_needed(base), seed=context.seed),
            configs=[ConfigSpec(name=n, train=c) for n, c in _distinct(grid)][: self.k],
        )
