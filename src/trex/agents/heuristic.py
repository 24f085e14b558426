"""HeuristicResearcher: the offline researcher (no LLM) that plans like a careful engineer.

Root: establish a baseline: the first working dataset (load, dedup, filter, seeded sample, format,
cap) and a learning-rate grid around the task's default hyperparameters.

Children, from the parent's best config (validation only) and what its other children tried:
- all of the parent's configs failed -> ``adjust_training``: safer settings (lower learning rate,
  smaller batch), so the failure is repaired rather than repeated;
- one label's validation error rate exceeds another's by more than ``IMBALANCE_GAP`` ->
  ``refine_data``: a label-balanced sample, with and without a length filter;
- the training data are scarce (fewer unique rows than the steps need) -> ``synthetic_data``:
  new rows recombined from same-label rows (``augment_by_recombination``);
- the best config's training loss fell by less than ``FLAT_DROP`` of its start (a flat learning
  curve) -> ``adjust_training`` first: a higher learning rate and a higher LoRA rank (full
  fine-tuning: more steps);
- the best config gives one label for at least ``COLLAPSE_SHARE`` of the validation inputs (its
  predictions collapsed) while its loss still falls -> ``adjust_training`` first: continue it with
  a higher learning rate and more steps (it is undertrained; rebalancing comes after);
- otherwise -> ``adjust_training``: continue the parent's best adapter on fresh rows when the
  parent improved on its own parent (a warm start costs no repeated steps), else a wider
  learning-rate / depth sweep from scratch.
A strategy already tried under the same parent moves to the back of the queue, so siblings
explore different directions. Every decision is deterministic given the tree.
"""

from __future__ import annotations

from trex.agents.plan import ConfigOutcome, ConfigSpec, NodeRecord, Plan
from trex.agents.repair import repair_config
from trex.aidp.recipe import Recipe, Step
from trex.task import TaskSpec
from trex.train.config import TrainConfig

IMBALANCE_GAP = 0.2
FLAT_DROP = 0.05  # a training loss that fell by less than 5% of its start did not learn
COLLAPSE_SHARE = 0.9  # one label in 90% of the predictions: the model has not learned the task
MAX_LEARNING_RATE = 1e-2
MIN_INPUT_CHARS = 10
LENGTH_FILTER_CHARS = 40


def rows_needed(train: TrainConfig) -> int:
    return train.max_steps * train.batch_size * train.gradient_accumulation_steps


def base_recipe(
    task: TaskSpec, n_rows: int, seed: int, stratify: bool = False, min_chars: int = MIN_INPUT_CHARS
) -> Recipe:
    """The standard pipeline: load, dedup, filter, seeded sample, format, cap."""
    ev = task.eval
    label, text = ev.label_field, ev.input_field
    conditions = [f"len(str({text})) >= {min_chars}"]
    if ev.mode == "choices" and ev.choices:
        conditions.append(f"str({label}) in {sorted(ev.choices)!r}")
    steps = [
        Step(op="load_local_dataset", args={"path": task.train_data}),
        Step(op="deduplicate_by_text_hash", args={"column": text}),
        Step(op="select_by_filter", args={"expression": " and ".join(conditions)}),
        Step(op="select_by_random", args={"n": n_rows, "seed": seed, "stratify_by": label if stratify else None}),
        Step(
            op="format_for_training",
            args={
                "prompt_template": ev.prompt_template,
                "completion_template": "{" + label + "}" if ev.mode == "choices" else " {" + label + "}",
                "label_map": ev.choices if ev.mode == "choices" else None,
                "label_field": label,
                "style": "chat" if ev.chat_template else "completion",
            },
        ),
        Step(op="cap_samples", args={"max_samples": task.limits.max_train_samples}),
    ]
    return Recipe(steps=steps)


def refined_recipes(task: TaskSpec, n_rows: int, seed: int) -> list[tuple[str, Recipe]]:
    """refine_data's recipes: a label-balanced sample, with and without a length filter."""
    return [
        ("balanced", base_recipe(task, n_rows, seed, stratify=True)),
        ("balanced-len40", base_recipe(task, n_rows, seed, stratify=True, min_chars=LENGTH_FILTER_CHARS)),
        ("len40", base_recipe(task, n_rows, seed, min_chars=LENGTH_FILTER_CHARS)),
    ]


def synthetic_recipes(task: TaskSpec, n_rows: int, seed: int) -> list[tuple[str, Recipe]]:
    """synthetic_data's recipes: the base recipe with 1, 2 or 3 recombined copies of each row."""
    recipes = []
    for copies in (1, 2, 3):
        steps = list(base_recipe(task, n_rows, seed).steps)
        args = {"column": task.eval.input_field, "group_by": task.eval.label_field, "copies": copies, "seed": seed}
        steps.insert(3, Step(op="augment_by_recombination", args=args))
        recipes.append((f"recombine-x{copies}", Recipe(steps=steps)))
    return recipes


def _variant(train: TrainConfig, **changes: object) -> TrainConfig:
    return train.model_copy(update=changes)


def _lr_name(cfg: TrainConfig) -> str:
    return f"lr{cfg.learning_rate:g}-s{cfg.max_steps}" + (f"-top{cfg.lora_top_layers}" if cfg.lora_top_layers else "")


class HeuristicResearcher:
    name = "heuristic"

    def __init__(self, task: TaskSpec, seed: int = 0) -> None:
        if task.train_data is None:
            raise ValueError("the heuristic researcher needs train_data in the task file")
        self.task = task
        self.seed = seed
        self.k = task.limits.configs_per_plan

    def root_plan(self) -> Plan:
        default = self.task.training
        grid = [
            default,
            _variant(default, learning_rate=default.learning_rate / 2),
            _variant(default, learning_rate=default.learning_rate * 2),
        ]
        grid += [_variant(default, lora_r=default.lora_r * 2), _variant(default, max_steps=default.max_steps * 2)]
        configs = [ConfigSpec(name=_lr_name(c), train=c) for c in grid[: self.k]]
        return Plan(
            strategy="establish_baseline",
            rationale="Evaluate the base model as is, then train on a first cleaned sample with a small "
            "learning-rate grid around the task's defaults.",
            change="first dataset and hyperparameter grid",
            recipe=base_recipe(self.task, rows_needed(default), seed=self.seed),
            configs=configs,
        )

    def repair(
        self, plan: Plan, config: ConfigSpec, error_class: str | None, error: str
    ) -> tuple[ConfigSpec, str] | None:
        return repair_config(plan, config, error_class, error)

    def plan(
        self,
        parent: NodeRecord,
        grandparent: NodeRecord | None,
        siblings: list[NodeRecord],
        node_seed: int,
        context: str = "",
    ) -> Plan:
        """Plan a child of ``parent``. The structured records carry all it reads; ``context`` (the
        memory text an LLM researcher gets) is accepted for a common interface and not parsed."""
        best = parent.best()
        tried = [s.strategy for s in siblings]
        if best is None:
            return self._repair(parent, node_seed)
        wants = self._ranked(best)
        strategy = min(wants, key=lambda s: (tried.count(s), wants.index(s)))
        if strategy == "refine_data":
            return self._refine_data(parent, best, node_seed)
        if strategy == "synthetic_data":
            return self._synthetic(parent, best, node_seed)
        return self._adjust_training(parent, grandparent, best, node_seed)

    # decisions ------------------------------------------------------------------------------
    def _flat(self, best: ConfigOutcome) -> bool:
        first, last = best.first_loss, best.last_loss
        return first is not None and last is not None and first > 0 and (first - last) / first < FLAT_DROP

    def _collapsed(self, best: ConfigOutcome) -> bool:
        """The model gives one label for nearly every input although the references have several."""
        d = best.diagnosis
        if d is None or not d.predicted_share or sum(1 for v in d.support_by_label.values() if v) < 2:
            return False
        return max(d.predicted_share.values()) >= COLLAPSE_SHARE

    def _undertrained(self, best: ConfigOutcome) -> bool:
        return self._flat(best) or self._collapsed(best)

    def _ranked(self, best: ConfigOutcome) -> list[str]:
        if self._undertrained(best):  # nothing else helps a model that has not learned the task yet
            return ["adjust_training", "refine_data", "synthetic_data"]
        ranked = ["adjust_training"]
        rates = best.diagnosis.error_rate_by_label if best.diagnosis else {}
        if rates and max(rates.values()) - min(rates.values()) > IMBALANCE_GAP:
            ranked.insert(0, "refine_data")
        else:
            ranked.append("refine_data")
        if best.train_rows is not None and best.train is not None and best.train_rows < rows_needed(best.train):
            ranked.insert(0, "synthetic_data")
        else:
            ranked.append("synthetic_data")
        return ranked

    def _improved(self, parent: NodeRecord, grandparent: NodeRecord | None) -> bool:
        if parent.val_score is None:
            return False
        return grandparent is None or grandparent.val_score is None or parent.val_score > grandparent.val_score

    def _warm(self, best: ConfigOutcome, cfg: TrainConfig) -> TrainConfig:
        return _variant(cfg, init_from_job=best.job_hash)

    def _repair(self, parent: NodeRecord, seed: int) -> Plan:
        errors = sorted({o.error or "" for o in parent.outcomes if o.status != "ok"})
        base = self.task.training
        grid = [
            _variant(base, learning_rate=base.learning_rate / 2, batch_size=max(1, base.batch_size // 2)),
            _variant(base, learning_rate=base.learning_rate / 4),
            _variant(base, max_length=max(32, base.max_length // 2)),
        ]
        return Plan(
            strategy="adjust_training",
            rationale=f"Every config of node {parent.id} failed ({'; '.join(errors)[:300]}); "
            "retry with safer settings.",
            change="safer training settings after failures",
            recipe=base_recipe(self.task, rows_needed(base), seed=seed),
            configs=[ConfigSpec(name=_lr_name(c), train=c) for c in grid[: self.k]],
        )

    def _refine_data(self, parent: NodeRecord, best: ConfigOutcome, seed: int) -> Plan:
        train = self._warm(best, best.train)  # keep what the parent learned; change only the data
        variants = refined_recipes(self.task, rows_needed(train), seed)
        rates = best.diagnosis.error_rate_by_label if best.diagnosis else {}
        return Plan(
            strategy="refine_data",
            rationale=f"Best config {best.name} errs unevenly across labels ({rates}); rebalance the sample and "
            "drop very short inputs, training the same way.",
            change="label-balanced sample, length filter",
            recipe=variants[0][1],
            configs=[ConfigSpec(name=name, train=train, recipe=recipe) for name, recipe in variants[: self.k]],
        )

    def _synthetic(self, parent: NodeRecord, best: ConfigOutcome, seed: int) -> Plan:
        train = best.train
        recipes = synthetic_recipes(self.task, rows_needed(train), seed)
        return Plan(
            strategy="synthetic_data",
            rationale=f"Only {best.train_rows} training rows for {rows_needed(train)} sample slots: construct new "
            "rows by recombining sentences of same-label rows.",
            change="synthetic rows by same-label recombination",
            recipe=recipes[0][1],
            configs=[ConfigSpec(name=name, train=train, recipe=recipe) for name, recipe in recipes[: self.k]],
        )

    def _adjust_training(
        self, parent: NodeRecord, grandparent: NodeRecord | None, best: ConfigOutcome, seed: int
    ) -> Plan:
        cfg = best.train
        if self._undertrained(best):
            faster = min(MAX_LEARNING_RATE, cfg.learning_rate * 2)
            if cfg.lora:
                third, third_name = (
                    _variant(cfg, learning_rate=faster, lora_r=cfg.lora_r * 2, lora_alpha=cfg.lora_alpha * 2),
                    "lr-x2-rank-x2",
                )
            else:  # full fine-tuning has no rank: train longer instead
                third, third_name = _variant(cfg, learning_rate=faster, max_steps=cfg.max_steps * 2), "lr-x2-steps-x2"
            candidates = [
                ("lr-x2", _variant(cfg, learning_rate=faster)),
                ("lr-x4", _variant(cfg, learning_rate=min(MAX_LEARNING_RATE, cfg.learning_rate * 4))),
                (third_name, third),
                ("steps-x2", _variant(cfg, max_steps=cfg.max_steps * 2)),  # the rate may be at its ceiling
                ("lr-x2-steps-x4", _variant(cfg, learning_rate=faster, max_steps=cfg.max_steps * 4)),
            ]
            unique: list[tuple[str, TrainConfig]] = []
            for name, candidate in candidates:
                if all(candidate != kept for _, kept in unique):
                    unique.append((name, candidate))
            names, grid = [n for n, _ in unique[:3]], [c for _, c in unique[:3]]
            if self._flat(best):
                rationale = (
                    f"The training loss of {best.name} barely moved ({best.first_loss:.3f} -> {best.last_loss:.3f}): "
                    "the model is not learning; raise the learning rate and the capacity or length of training."
                )
                change = "flat learning curve: higher learning rate, rank or steps"
            else:  # collapsed while the loss still falls: keep what was learned and push harder
                grid = [self._warm(best, c) for c in grid]
                share = (
                    max(best.diagnosis.predicted_share.items(), key=lambda kv: kv[1]) if best.diagnosis else ("?", 1.0)
                )
                rationale = (
                    f"{best.name} answers {share[0]!r} for {share[1]:.0%} of the validation inputs while its loss "
                    "still falls: it has not learned the task yet. Continue it with a higher learning rate and "
                    "longer training."
                )
                change = "collapsed predictions: warm start, higher learning rate, more steps"
        elif self._improved(parent, grandparent):
            grid = [
                self._warm(best, cfg),
                self._warm(best, _variant(cfg, learning_rate=cfg.learning_rate / 2)),
                self._warm(best, _variant(cfg, learning_rate=cfg.learning_rate / 4)),
            ]
            names = ["continue", "continue-lr/2", "continue-lr/4"]
            rationale = (
                f"Node {parent.id} improved (val {parent.val_score:.3f}); its best config {best.name} is still "
                "learning: continue its adapter on fresh rows, at the same and lower learning rates."
            )
            change = f"warm start from {best.name}, fresh rows"
        else:
            grid = [
                _variant(cfg, learning_rate=cfg.learning_rate * 2),
                _variant(cfg, max_steps=cfg.max_steps * 2),
                _variant(cfg, lora_r=cfg.lora_r * 2, lora_alpha=cfg.lora_alpha * 2),
            ]
            names = [_lr_name(c) for c in grid]
            rationale = (
                f"Node {parent.id} did not improve on its parent; widen the sweep: "
                "higher learning rate, more steps, higher rank."
            )
            change = "wider hyperparameter sweep"
        configs = [ConfigSpec(name=n, train=c) for n, c in zip(names, grid, strict=True)][: self.k]
        return Plan(
            strategy="adjust_training",
            rationale=rationale,
            change=change,
            recipe=base_recipe(self.task, rows_needed(cfg), seed=seed),
            configs=configs,
        )
