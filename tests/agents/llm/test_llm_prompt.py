"""What a researcher needs in the prompt (issue 38, item 3), through a scripted LLM: the evaluation format and the
plan check that rejects training rows of another shape (the error goes back to the LLM), the budget in steps and the
cut a config got, siblings with their configs and the nodes in flight elsewhere, the task's own training defaults in
the answer schema, and the data profile and operator catalog in the strategy prompt."""

from __future__ import annotations

import json

import pytest

from tests.agents.heuristic.test_researcher import _record
from trex.agents.heuristic.researcher import HeuristicResearcher, base_recipe
from trex.agents.llm.render import budget_text, node_text
from trex.agents.llm.researcher import LLMResearcher
from trex.evaluation.shape import format_problem
from trex.llm.client import ScriptedClient
from trex.plan import BudgetLeft, PlanContext, check_training_format


class SchemaClient(ScriptedClient):
    """A scripted client that also keeps the JSON schema of every request."""

    def __init__(self, replies: list[str]) -> None:
        super().__init__(replies)
        self.schemas: list[dict | None] = []

    def complete(self, messages, schema=None):
        self.schemas.append(schema)
        return super().complete(messages, schema)


def _answer(task, k: int, steps: int = 4, **format_args) -> str:
    recipe = base_recipe(task, 16, 0).model_dump()
    recipe["steps"][-1]["args"].update(format_args)
    configs = [{"name": f"llm-{i}", "train": {"max_steps": steps + i}} for i in range(k)]
    return json.dumps({"rationale": "r", "change": "c", "recipe": recipe, "configs": configs})


STRATEGY = '{"strategy": "adjust_training", "rationale": "r"}'


def test_root_and_plan_prompts_show_the_evaluation_format(tiny_task) -> None:
    client = ScriptedClient([_answer(tiny_task, 2), STRATEGY, _answer(tiny_task, 2)])
    researcher = LLMResearcher(tiny_task, client)
    researcher.root_plan()
    researcher.plan(PlanContext(parent=_record(tiny_task, 1, 0.7), seed=1))
    for prompt in (client.sent[0][-1]["content"], client.sent[2][-1]["content"]):
        assert "prompt template: 'Review: {text}\\nIs this review fresh or rotten? Answer:'" in prompt
        assert "input field 'text', label field 'label'" in prompt
        assert "{'fresh': ' fresh', 'rotten': ' rotten'}" in prompt and "chat template: no" in prompt


def test_a_plan_whose_rows_miss_the_evaluation_shape_goes_back_to_the_llm(tiny_task) -> None:
    wrong = _answer(tiny_task, 2, label_map=None)  # completions 'fresh', not the choice text ' fresh'
    client = ScriptedClient([wrong, _answer(tiny_task, 2)])
    plan = LLMResearcher(tiny_task, client).root_plan()
    assert plan.recipe.steps[-1].args["label_map"] == tiny_task.eval.choices  # the corrected answer
    repair = client.sent[1][-1]["content"]
    assert "That answer is invalid" in repair and "not the evaluation's choice texts" in repair


def test_the_format_check_names_each_mismatch(tiny_task) -> None:
    ev = tiny_task.eval
    good = base_recipe(tiny_task, 8, 0).steps[-1].args
    assert format_problem(good, ev) is None
    assert (
        format_problem(good | {"prompt_template": "Review: {review}\nIs this review fresh or rotten? Answer:"}, ev)
        is None
    )
    assert "not the evaluation's prompt" in format_problem(good | {"prompt_template": "{text}\nAnswer:"}, ev)
    assert "use style 'completion'" in format_problem(good | {"style": "chat"}, ev)
    assert "may hold only {label}" in format_problem(good | {"completion_template": "{label} {text}"}, ev)
    assert format_problem(good | {"completion_template": " {label}", "label_map": {"fresh": "fresh"}}, ev) is None
    chat = ev.model_copy(update={"chat_template": True})
    assert "use style 'chat'" in format_problem(good, chat) and format_problem(good | {"style": "chat"}, chat) is None
    generate = ev.model_copy(update={"mode": "generate"})
    assert "must carry the answer {label}" in format_problem(good | {"completion_template": "yes"}, generate)
    plan = HeuristicResearcher(tiny_task).root_plan()
    check_training_format(plan, ev)  # the heuristic's recipes pass
    with pytest.raises(ValueError, match="config .lr0.002-s6.: the recipe.s format_for_training step: style"):
        check_training_format(plan, chat)


def test_the_budget_in_steps_and_the_cut_it_made_reach_the_next_prompt(tiny_task) -> None:
    budget = BudgetLeft(nodes=5, step_s=5.0, step_rows=8, job_fixed_s=20.0, job_timeout_s=900.0)
    shown = budget_text(budget, 2)
    assert "5.00 s a training step of 8 rows" in shown and "20 s a job" in shown
    assert "the job timeout is 15 minutes" in shown and "at most 140 steps (80% of the 15-minute job timeout" in shown
    assert "no training step measured yet" in budget_text(BudgetLeft(job_timeout_s=900.0))
    client = ScriptedClient([STRATEGY, _answer(tiny_task, 2, steps=500)])
    plan = LLMResearcher(tiny_task, client).plan(PlanContext(parent=_record(tiny_task, 1, 0.7), seed=1, budget=budget))
    assert (
        "at most 140 steps" in client.sent[0][-1]["content"] and "at most 140 steps" in client.sent[1][-1]["content"]
    )
    assert [c.train.max_steps for c in plan.configs] == [140, 140]
    assert plan.configs[0].cut == "planned 500 steps, given 140: 80% of the 15-minute job timeout, at 5.00 s a step"
    child = _record(tiny_task, 2, 0.7).model_copy(update={"plan": plan})
    for outcome, config in zip(child.outcomes, plan.configs, strict=True):
        outcome.name, outcome.train = config.name, config.train
    assert "cut by trex: planned 500 steps, given 140: 80% of the 15-minute job timeout" in node_text(child, "choices")


def test_siblings_with_configs_and_nodes_in_flight_elsewhere(tiny_task) -> None:
    sibling = _record(tiny_task, 2, 0.72)
    running = _record(tiny_task, 7, None).model_copy(update={"status": "running", "parent": 3, "outcomes": []})
    client = ScriptedClient([STRATEGY, _answer(tiny_task, 2)])
    context = PlanContext(parent=_record(tiny_task, 1, 0.7), siblings=[sibling], in_flight=[running], seed=1)
    LLMResearcher(tiny_task, client).plan(context)
    for sent in client.sent:
        prompt = sent[-1]["content"]
        assert "- node 2 (establish_baseline, val 0.720)" in prompt and "val 0.710, train {" in prompt
        line = f"- node 7 (child of node 3, establish_baseline): {running.plan.change}; configs lr0.002-s6 ("
        assert line + "lr 0.002, 6 steps)" in prompt


def test_the_schema_the_llm_fills_holds_the_tasks_defaults_with_descriptions(tiny_task) -> None:
    client = SchemaClient([STRATEGY, json.dumps(json.loads(_answer(tiny_task, 2)) | {"configs": [
        {"name": "a", "train": {}}, {"name": "b", "train": {"batch_size": 4}}]})])  # fmt: skip
    plan = LLMResearcher(tiny_task, client).plan(PlanContext(parent=_record(tiny_task, 1, 0.7), seed=1))
    assert plan.configs[0].train == tiny_task.training  # a field left out gets the task's default
    assert plan.configs[1].train == tiny_task.training.model_copy(update={"batch_size": 4})
    train = client.schemas[1]["$defs"]["TrainAnswer"]["properties"]
    assert train["learning_rate"]["default"] == 0.002 and train["max_steps"]["default"] == 6
    assert train["learning_rate"]["description"] == "peak learning rate of the schedule"
    prompt = client.sent[1][-1]["content"]
    assert "- learning_rate = 0.002: peak learning rate of the schedule" in prompt
    assert "- max_steps = 6: optimizer steps" in prompt


def test_the_strategy_prompt_has_the_data_profile_and_the_operator_catalog(tiny_task) -> None:
    client = ScriptedClient([STRATEGY, _answer(tiny_task, 2)])
    LLMResearcher(tiny_task, client).plan(PlanContext(parent=_record(tiny_task, 1, 0.7), seed=1))
    strategy = client.sent[0][-1]["content"]
    assert "Training data: " in strategy and "rows, columns" in strategy and "labels {" in strategy
    assert "- deduplicate_near (" in strategy and "Choose the strategy" in strategy


def test_the_prompt_says_when_the_metric_weighs_every_label_the_same(tiny_task) -> None:
    from trex.agents.llm.render import eval_format_text

    macro = tiny_task.eval.model_copy(update={"metric": "macro_f1"})
    assert "a label-balanced sample suits it" in eval_format_text(macro)
    assert "mode generate" not in eval_format_text(macro) + eval_format_text(tiny_task.eval)  # a choice task
    assert "label-balanced" not in eval_format_text(tiny_task.eval)  # accuracy: the pool's proportions are fine
