"""The LLM's plan answer schema is as strict as the checks: exactly k configs, each operator's own arguments,
no strategy asked again, and what the researcher cannot know (the LLM endpoint, trex's guards, the embedded
datasets) filled or listed by trex."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from trex.agents.llm.answer import catalog_text, plan_answer_model, to_plan
from trex.aidp.operators import OPERATORS
from trex.assets import DATASETS

LOAD = {"op": "load_local_dataset", "args": {"path": "embedded:rotten_tomatoes/train"}}


def _answer(configs: int, steps: list[dict] | None = None) -> dict:
    recipe = {"steps": steps or [LOAD]}
    return {
        "rationale": "r",
        "change": "c",
        "recipe": recipe,
        "configs": [{"name": f"c{i}", "train": {"learning_rate": 1e-3}} for i in range(configs)],
    }


def test_exactly_k_configs_and_no_strategy_field() -> None:
    model = plan_answer_model(2)
    assert len(model.model_validate(_answer(2)).configs) == 2
    for wrong in (1, 3):
        with pytest.raises(ValidationError, match="configs"):
            model.model_validate(_answer(wrong))
    schema = model.model_json_schema()
    assert "strategy" not in schema["properties"]
    assert schema["properties"]["configs"]["minItems"] == schema["properties"]["configs"]["maxItems"] == 2
    with pytest.raises(ValidationError, match="strategy"):  # asking it again would be an extra field
        model.model_validate(_answer(2) | {"strategy": "refine_data"})


def test_each_operator_validates_its_own_arguments() -> None:
    model = plan_answer_model(1)
    good = {"op": "deduplicate_near", "args": {"column": "text", "threshold": 0.8}}
    assert model.model_validate(_answer(1, [LOAD, good])).recipe.steps[1].op == "deduplicate_near"
    # an argument of another operator fails with the operator named (a discriminated union, not an open object)
    bad = {"op": "deduplicate_near", "args": {"column": "text", "n": 5}}
    with pytest.raises(ValidationError) as info:
        model.model_validate(_answer(1, [LOAD, bad]))
    assert "deduplicate_near" in str(info.value) and "n" in str(info.value)
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        model.model_validate(_answer(1, [LOAD, {"op": "no_such_operator", "args": {}}]))
    # the schema sent to the LLM names each operator's own fields
    text = json.dumps(model.model_json_schema())
    assert '"Args_deduplicate_near"' in text and '"threshold"' in text


def test_trex_fills_the_llm_endpoint_and_keeps_its_guards_out_of_the_catalog() -> None:
    generate = {"op": "generate_dataset_with_llm", "args": {"instruction": "write reviews", "n": 4}}
    with pytest.raises(ValidationError):  # no endpoint configured: the LLM operators are not offered
        plan_answer_model(1, has_llm=False).model_validate(_answer(1, [LOAD, generate]))
    model = plan_answer_model(1, has_llm=True)
    with pytest.raises(ValidationError, match="llm"):  # and the endpoint is never the LLM's to write
        model.model_validate(_answer(1, [LOAD, generate | {"args": {"instruction": "w", "llm": {"model": "x"}}}]))
    judged = {"op": "generate_preference_dataset", "args": {"method": "judge", "answer_a": "a", "answer_b": "b"}}
    answer = model.model_validate(_answer(1, [LOAD, generate, judged]))
    endpoint = {"model": "served-model", "base_url": "http://127.0.0.1:9/v1", "api_key_env": "KEY"}
    plan = to_plan(answer, "synthetic_data", endpoint)
    assert plan.recipe.steps[1].args["llm"] == endpoint  # required endpoint filled
    assert plan.recipe.steps[2].args["llm"] == endpoint  # optional endpoint filled too
    params = OPERATORS["generate_dataset_with_llm"].params.model_validate(plan.recipe.steps[1].args)
    assert params.llm is not None and params.llm.model == "served-model"  # a valid step of the operator
    catalog = catalog_text(has_llm=False)
    assert "generate_dataset_with_llm" not in catalog and "- decontaminate" not in catalog
    assert all(f"embedded:{name}/SPLIT" in catalog for name in DATASETS)
    assert "generate_dataset_with_llm" in catalog_text(has_llm=True)
