"""The LLM researcher's answer schema, as strict as the checks that follow it.

``plan_answer_model(k, llm)`` builds the pydantic model of a plan answer: exactly ``k`` configs, and
recipe steps as a discriminated union on ``op`` in which each step's ``args`` is that operator's own
parameter model (so the JSON schema sent to the LLM names every operator's fields, and a wrong
argument fails validation with the operator's message). The plan's strategy is not asked again: it
was chosen in the step before. Arguments the researcher cannot know are never asked: trex appends
decontamination and the sample cap to every training recipe (those operators are left out), and the
LLM operators' endpoint (``llm``) is filled with the name of the run's own endpoint (``llm: researcher``,
resolved where the job runs: ``trex.llm.endpoints``; never a URL or a key), or those operators are left out
when the run has none. A config's training fields default to the task's own ``training`` (``train_answer_model``),
not to TrainConfig's class defaults. ``to_plan`` turns a parsed answer into a ``Plan``.
"""

from __future__ import annotations

import copy
import json
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from trex.aidp.operators import OPERATORS
from trex.aidp.recipe import Recipe, Step
from trex.plan import ConfigSpec, Plan, Strategy
from trex.train.config import TrainConfig

APPENDED_BY_TREX = ("decontaminate", "cap_samples")  # trex adds these to every training recipe itself
FILLED_BY_TREX = ("llm",)  # the LLM endpoint of the LLM operators, by name


def visible_operators(has_llm: bool) -> list[str]:
    """The operators the researcher may use: without trex's own guards, and without the LLM operators when
    the run has no LLM endpoint to give them."""
    names = []
    for name, op in sorted(OPERATORS.items()):
        needs_llm = "llm" in op.params.model_fields and op.params.model_fields["llm"].is_required()
        if name in APPENDED_BY_TREX or (needs_llm and not has_llm):
            continue
        names.append(name)
    return names


def _args_model(name: str) -> type[BaseModel]:
    params = OPERATORS[name].params
    fields: dict[str, Any] = {
        field: (info.annotation, info) for field, info in params.model_fields.items() if field not in FILLED_BY_TREX
    }
    return create_model(f"Args_{name}", __config__=ConfigDict(extra="forbid"), **fields)


def _step_model(name: str) -> type[BaseModel]:
    return create_model(
        f"Step_{name}",
        __config__=ConfigDict(extra="forbid"),
        op=(Literal[name], ...),  # type: ignore[valid-type]
        args=(_args_model(name), Field(default_factory=dict)),
    )


def catalog_text(has_llm: bool = False) -> str:
    """The operators the researcher may use, each with its doc and the arguments it may set."""
    from trex.assets import DATASETS

    lines = []
    for name in visible_operators(has_llm):
        op = OPERATORS[name]
        props = _args_model(name).model_json_schema().get("properties", {})
        args = json.dumps(
            {k: {f: v[f] for f in ("type", "default", "description", "enum") if f in v} for k, v in props.items()}
        )
        lines.append(f"- {name} ({op.category}): {op.doc} args: {args}")
    lines.append(f"Embedded datasets for load_local_dataset: {', '.join(f'embedded:{d}/SPLIT' for d in DATASETS)}")
    lines.append(
        "trex appends decontamination against the evaluation files and the sample cap itself; "
        + (
            "the LLM operators use the run's own LLM endpoint."
            if has_llm
            else "no LLM endpoint is configured, so the LLM operators are not offered."
        )
    )
    return "\n".join(lines)


def train_answer_model(defaults: TrainConfig) -> type[TrainConfig]:
    """TrainConfig with ``defaults`` (the task's ``training``) as its defaults: what a field the LLM leaves out gets,
    and what the JSON schema sent to it shows, each field with its one-line description."""
    fields: dict[str, Any] = {}
    for name, info in TrainConfig.model_fields.items():
        field = copy.copy(info)
        field.default, field.default_factory = getattr(defaults, name), None
        fields[name] = (info.annotation, field)
    return create_model("TrainAnswer", __base__=TrainConfig, **fields)


def train_fields_text(defaults: TrainConfig) -> str:
    """One line per training field: its name, the task's default, what it does."""
    return "\n".join(
        f"- {name} = {json.dumps(getattr(defaults, name))}: {info.description}"
        for name, info in TrainConfig.model_fields.items()
    )


def plan_answer_model(k: int, has_llm: bool = False, defaults: TrainConfig | None = None) -> type[BaseModel]:
    """The model of a plan answer with exactly ``k`` configs and per-operator argument schemas; a config's training
    fields default to ``defaults`` (the task's; TrainConfig's own without it)."""
    steps = tuple(_step_model(name) for name in visible_operators(has_llm))
    step_union = Annotated[Union[steps], Field(discriminator="op")]  # noqa: UP007 (a runtime tuple of models)
    recipe = create_model("RecipeAnswer", __config__=ConfigDict(extra="forbid"), steps=(list[step_union], ...))
    config = create_model(
        "ConfigAnswer",
        __config__=ConfigDict(extra="forbid"),
        name=(str, Field(min_length=1, max_length=80)),
        train=(train_answer_model(defaults) if defaults is not None else TrainConfig, ...),
        recipe=(recipe | None, None),
    )
    return create_model(
        "PlanAnswer",
        __config__=ConfigDict(extra="forbid"),
        rationale=(str, Field(max_length=2000)),
        change=(str, Field(max_length=300, description="one line: what this node changes relative to its parent")),
        recipe=(recipe, ...),
        configs=(list[config], Field(min_length=k, max_length=k)),
    )


def _recipe(answer: Any, llm: str | None) -> Recipe:
    steps = []
    for step in answer.steps:
        args = step.args.model_dump(exclude_unset=True)
        field = OPERATORS[step.op].params.model_fields.get("llm")
        if llm is not None and field is not None:  # required or optional: the researcher cannot know it
            args["llm"] = llm
        steps.append(Step(op=step.op, args=args))
    return Recipe(steps=steps)


def to_plan(answer: Any, strategy: Strategy, llm: str | None = None) -> Plan:
    """The Plan of a parsed answer; ``llm`` (an endpoint's name) fills the LLM operators' endpoint."""
    configs = [
        ConfigSpec(
            name=c.name,
            train=TrainConfig.model_validate(c.train.model_dump()),  # a TrainAnswer becomes a plain TrainConfig
            recipe=_recipe(c.recipe, llm) if c.recipe is not None else None,
        )
        for c in answer.configs
    ]
    return Plan(
        strategy=strategy,
        rationale=answer.rationale,
        change=answer.change,
        recipe=_recipe(answer.recipe, llm),
        configs=configs,
    )
