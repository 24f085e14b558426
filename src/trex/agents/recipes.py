"""The heuristic researchers' data recipes: the first working dataset and its refined and synthetic variants.

``base_recipe`` is the standard pipeline (load, dedup, filter, seeded sample, format). It carries no
sample cap and no decontamination: trex appends both to every training recipe in one place (the
executor), so a researcher cannot forget or double them. The random control draws from the same
recipes, so a comparison of the two measures decisions, not pipelines.

The sample is label-balanced from the start where the metric weighs every label the same (macro-F1 on a
choice task, ``balanced_by_metric``): the score then counts a rare label as much as a common one, and a
sample drawn in the pool's proportions teaches the model to rarely answer it. Elsewhere the sample keeps
the pool's proportions, and balance is a refinement the evidence must ask for (``refined_recipes``).
"""

from __future__ import annotations

from trex.aidp.recipe import Recipe, Step
from trex.evaluation.config import EvalConfig
from trex.task.spec import TaskSpec
from trex.train.config import TrainConfig

MIN_INPUT_CHARS = 10
LENGTH_FILTER_CHARS = 40
LABEL_AVERAGED_METRICS = ("macro_f1",)  # metrics that average a per-label score: every label weighs the same


def rows_needed(train: TrainConfig) -> int:
    return train.max_steps * train.batch_size * train.gradient_accumulation_steps


def balanced_by_metric(ev: EvalConfig) -> bool:
    """Whether the evaluation's metric weighs every label the same (then the first sample is label-balanced)."""
    return ev.mode == "choices" and ev.metric in LABEL_AVERAGED_METRICS


def base_recipe(
    task: TaskSpec, n_rows: int, seed: int, stratify: bool | None = None, min_chars: int = MIN_INPUT_CHARS
) -> Recipe:
    """The standard pipeline: load, dedup, filter, seeded sample, format. ``stratify``: a label-balanced sample
    (None: as the metric asks, ``balanced_by_metric``)."""
    ev = task.eval
    stratify = balanced_by_metric(ev) if stratify is None else stratify
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
    ]
    return Recipe(steps=steps)


def resampled(recipe: Recipe, n_rows: int, seed: int) -> Recipe:
    """The same pipeline with every seeded sample drawing ``n_rows`` rows with ``seed`` (fresh rows)."""
    steps = [
        s.model_copy(update={"args": {**s.args, "n": n_rows, "seed": seed}}) if s.op == "select_by_random" else s
        for s in recipe.steps
    ]
    return Recipe(steps=steps)


def refined_recipes(task: TaskSpec, n_rows: int, seed: int) -> list[tuple[str, Recipe]]:
    """refine_data's recipes: a label-balanced sample, with and without a length filter."""
    return [
        ("balanced", base_recipe(task, n_rows, seed, stratify=True)),
        ("balanced-len40", base_recipe(task, n_rows, seed, stratify=True, min_chars=LENGTH_FILTER_CHARS)),
        ("len40", base_recipe(task, n_rows, seed, stratify=False, min_chars=LENGTH_FILTER_CHARS)),
    ]


def synthetic_recipes(task: TaskSpec, n_rows: int, seed: int) -> list[tuple[str, Recipe]]:
    """synthetic_data's recipes: the base recipe with 1, 2 or 3 recombined copies of each row, made
    after filtering and before the seeded sample (so the sample draws from the enlarged pool)."""
    recipes = []
    for copies in (1, 2, 3):
        args = {"column": task.eval.input_field, "group_by": task.eval.label_field, "copies": copies, "seed": seed}
        step = Step(op="augment_by_recombination", args=args)
        recipes.append(
            (f"recombine-x{copies}", base_recipe(task, n_rows, seed).insert_after("select_by_filter", step))
        )
    return recipes
