"""Operators that build a training set from nothing: ``map_columns`` (another source in the task's shape) and
``generate_dataset_with_llm`` from scratch (no seed row shown), and the per-source statistics of ``run_recipe``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from datasets import Dataset

from tests.aidp.openai_server import openai_server
from trex.aidp.llm_cache import LLMSettings
from trex.aidp.operators import GenerateParams, MapColumnsParams, generate_dataset_with_llm, map_columns
from trex.aidp.recipe import Recipe, RecipeError, Step, run_recipe


def test_map_columns_renames_maps_labels_and_tags_the_source() -> None:
    ds = Dataset.from_dict({"body": ["a", "b", "c", "d"], "dept": [0, 1, 2, 1], "id": [1, 2, 3, 4]})
    p = MapColumnsParams(columns={"body": "text", "dept": "label"}, labels={"0": "billing", "1": "shipping"},
                         source="hub:someone/tickets")  # fmt: skip
    out = map_columns(ds, p)
    assert out.column_names == ["text", "label", "source"]
    assert out.to_list() == [
        {"text": "a", "label": "billing", "source": "hub:someone/tickets"},
        {"text": "b", "label": "shipping", "source": "hub:someone/tickets"},
        {"text": "d", "label": "shipping", "source": "hub:someone/tickets"},
    ]  # dept 2 has no mapping: dropped


def _writer(messages: list[dict]) -> str:
    prompt = messages[-1]["content"]
    label = "shipping" if "is 'shipping'" in prompt else "billing"
    batch = prompt.split("(batch ")[1].split(")")[0]
    return json.dumps({"items": [{"text": f"{label} message {batch}-{i}", "label": label} for i in range(2)]})


def test_generation_from_scratch_shows_no_row_and_goes_round_the_labels(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TREX_CACHE", str(tmp_path / "cache"))
    with openai_server(_writer) as (url, requests):
        p = GenerateParams(
            instruction="route support messages", n=8, rows_per_call=2, workers=1, from_scratch=True,
            labels=["billing", "shipping"], prompt_format="Message: {text}\nDepartment:",
            examples=[{"text": "my card was charged twice", "label": "billing"}],
            llm=LLMSettings(model="writer", base_url=url),
        )  # fmt: skip
        out = generate_dataset_with_llm(None, p)
    assert len(requests) == 4 and len(out) == 8
    assert sorted(set(out["label"])) == ["billing", "shipping"] and set(out["source"]) == {"synthetic"}
    prompt = requests[0]["messages"][-1]["content"]
    assert "Message: {text}\nDepartment:" in prompt and "billing, shipping" in prompt
    assert "my card was charged twice" in prompt  # the task file's example, and nothing else
    schema = json.dumps(requests[0].get("response_format", {}))
    assert '"enum": ["billing", "shipping"]' in schema or "billing" in schema  # the label set bounds the output


def test_a_recipe_may_start_with_a_generator_from_scratch_and_counts_rows_by_source(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TREX_CACHE", str(tmp_path / "cache"))
    hub = tmp_path / "hub.jsonl"
    hub.write_text("".join(json.dumps({"body": f"hub row {i}", "dept": i % 2}) + "\n" for i in range(6)))
    with openai_server(_writer) as (url, _):
        gen = {"instruction": "route", "n": 4, "rows_per_call": 2, "workers": 1, "from_scratch": True,
               "labels": ["billing", "shipping"], "llm": {"model": "w", "base_url": url}}  # fmt: skip
        alone = Recipe(steps=[Step(op="generate_dataset_with_llm", args=gen)])
        alone.validate_steps()  # a from-scratch generator may start a recipe
        mapped = {"columns": {"body": "text", "dept": "label"}, "labels": {"0": "billing", "1": "shipping"},
                  "source": "hub:x/y"}  # fmt: skip
        steps = [
            ("load_local_dataset", {"path": str(hub)}),
            ("map_columns", mapped),
            ("generate_dataset_with_llm", gen),
        ]
        both = Recipe(steps=[Step(op=op, args=args) for op, args in steps])
        ds, stats = run_recipe(both, label_column="label")
    assert len(ds) == 10
    assert stats[-1].sources == {"hub:x/y": 6, "synthetic": 4}
    assert stats[-1].labels == {"billing": 5, "shipping": 5}
    assert stats[0].sources == {}  # the loaded rows carry no source yet
    few_shot = Recipe(steps=[Step(op="generate_dataset_with_llm", args={**gen, "from_scratch": False})])
    with pytest.raises(RecipeError, match="starts with a loader"):
        few_shot.validate_steps()
