"""AIDP operators and recipes on small real datasets: what each keeps, and how bad input fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from datasets import Dataset

from trex.aidp.expressions import ExpressionError, compile_predicate
from trex.aidp.operators import (
    CapParams,
    DedupParams,
    FilterParams,
    FormatParams,
    LoadLocalParams,
    OperatorError,
    RandomParams,
    RecombineParams,
    augment_by_recombination,
    cap_samples,
    deduplicate_by_text_hash,
    format_for_training,
    load_local_dataset,
    select_by_filter,
    select_by_random,
)
from trex.aidp.recipe import Recipe, RecipeError, Step, run_recipe

ROWS = [
    {"text": "Great fun, a delight.", "label": "fresh"},
    {"text": "great  FUN, a delight.", "label": "fresh"},
    {"text": "Dull and long.", "label": "rotten"},
    {"text": "Ok", "label": "rotten"},
    {"text": "A sharp, funny script; well acted.", "label": "fresh"},
    {"text": "Tedious from start to end.", "label": "rotten"},
]


@pytest.fixture()
def jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return path


def test_load_formats(tmp_path: Path, jsonl: Path) -> None:
    assert load_local_dataset(None, LoadLocalParams(path=str(jsonl)))["label"] == [r["label"] for r in ROWS]
    csv = tmp_path / "rows.csv"
    csv.write_text("text,label\nhello,fresh\nbye,rotten\n")
    assert len(load_local_dataset(None, LoadLocalParams(path=str(csv)))) == 2
    with pytest.raises(OperatorError, match="no file"):
        load_local_dataset(None, LoadLocalParams(path=str(tmp_path / "missing.jsonl")))
    with pytest.raises(OperatorError, match="format"):
        load_local_dataset(None, LoadLocalParams(path=str(tmp_path / "rows.weird")))


def test_dedup_keeps_first_of_normalized_duplicates() -> None:
    out = deduplicate_by_text_hash(Dataset.from_list(ROWS), DedupParams(column="text"))
    assert out["text"] == [ROWS[0]["text"]] + [r["text"] for r in ROWS[2:]]
    exact = deduplicate_by_text_hash(Dataset.from_list(ROWS), DedupParams(column="text", normalize=False))
    assert len(exact) == len(ROWS)


def test_filter_expression() -> None:
    out = select_by_filter(Dataset.from_list(ROWS), FilterParams(expression="len(text) >= 10 and label in ['rotten']"))
    assert out["text"] == ["Dull and long.", "Tedious from start to end."]


@pytest.mark.parametrize(
    "expression",
    ["__import__('os').system('x')", "text.__class__", "open('f')", "[x for x in text]", "lambda: 1", "unknown > 1"],
)
def test_unsafe_or_unknown_expressions_are_rejected(expression: str) -> None:
    with pytest.raises(ExpressionError):
        compile_predicate(expression, ["text", "label"])


def test_random_selection_is_seeded_and_stratifies() -> None:
    ds = Dataset.from_list(ROWS)
    a = select_by_random(ds, RandomParams(n=3, seed=1))
    b = select_by_random(ds, RandomParams(n=3, seed=1))
    assert a["text"] == b["text"] and len(a) == 3
    strat = select_by_random(ds, RandomParams(n=4, seed=0, stratify_by="label"))
    assert sorted(strat["label"]) == ["fresh", "fresh", "rotten", "rotten"]


def test_format_and_cap() -> None:
    ds = format_for_training(
        Dataset.from_list(ROWS[:2]),
        FormatParams(
            prompt_template="Review: {text}\nAnswer:", completion_template="{label}", label_map={"fresh": " good"}
        ),
    )
    assert ds.column_names == ["prompt", "completion"]
    assert ds[0] == {"prompt": "Review: Great fun, a delight.\nAnswer:", "completion": " good"}
    assert len(cap_samples(ds, CapParams(max_samples=1))) == 1
    with pytest.raises(OperatorError, match="missing|not in dataset"):
        format_for_training(ds, FormatParams(prompt_template="{nope}", completion_template="{label}"))


def test_recombination_preserves_labels() -> None:
    out = augment_by_recombination(Dataset.from_list(ROWS), RecombineParams(copies=2, seed=0))
    assert len(out) == 3 * len(ROWS)
    synthetic = out.filter(lambda r: r["synthetic"])
    assert sorted(synthetic["label"]) == sorted([r["label"] for r in ROWS] * 2)


def test_recipe_validates_every_step_before_running(jsonl: Path) -> None:
    bad = Recipe(
        steps=[Step(op="load_local_dataset", args={"path": str(jsonl)}), Step(op="select_by_random", args={"n": -1})]
    )
    with pytest.raises(RecipeError, match=r"step 2 \(select_by_random\): n:"):
        run_recipe(bad)
    with pytest.raises(RecipeError, match="step 1: unknown operator 'load_everything'"):
        Recipe(steps=[Step(op="load_everything")]).validate_steps()
    with pytest.raises(RecipeError, match="starts with a loader"):
        Recipe(steps=[Step(op="cap_samples", args={"max_samples": 1})]).validate_steps()


def test_recipe_runs_and_counts_rows(jsonl: Path) -> None:
    recipe = Recipe(
        steps=[
            Step(op="load_local_dataset", args={"path": str(jsonl)}),
            Step(op="deduplicate_by_text_hash", args={"column": "text"}),
            Step(op="select_by_filter", args={"expression": "len(text) >= 10"}),
            Step(op="cap_samples", args={"max_samples": 3}),
        ]
    )
    ds, stats = run_recipe(recipe)
    assert len(ds) == 3
    assert [(s.rows_in, s.rows_out) for s in stats] == [(0, 6), (6, 5), (5, 4), (4, 3)]
    missing = recipe.with_step("select_by_filter", expression="len(nope) > 1")
    with pytest.raises(RecipeError, match=r"step 5 \(select_by_filter\): column\(s\) \['nope'\] not in the data"):
        missing.validate_steps()  # found before any step runs
