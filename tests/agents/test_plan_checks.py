"""Defects of issue 13 on the researcher side, each with the check that failed before its fix: a warm start
that changes the adapter's shape, changes that change nothing, the repair attempt count, strict prompts,
the sample cap appended once."""

from __future__ import annotations

import pytest

from tests.agents.heuristic.test_researcher import _record
from trex.agents.heuristic.researcher import HeuristicResearcher, base_recipe
from trex.agents.llm.prompts import PromptError, PromptSet
from trex.agents.llm.researcher import PROMPT_FIELDS, LLMResearcher, load_prompts
from trex.agents.random_researcher import RandomResearcher
from trex.llm.client import ScriptedClient
from trex.plan import ConfigSpec, Plan, PlanContext, check_warm_starts


def _with(task, configs_per_plan: int, **training):
    return task.model_copy(
        update={
            "training": task.training.model_copy(update=training),
            "limits": task.limits.model_copy(update={"configs_per_plan": configs_per_plan}),
        }
    )


def test_the_plan_checker_refuses_a_warm_start_that_changes_the_adapter(tiny_task) -> None:
    base = tiny_task.training
    plan = Plan(
        strategy="adjust_training", rationale="r", change="c", recipe=base_recipe(tiny_task, 8, 0),
        configs=[ConfigSpec(name="warm-r32", train=base.model_copy(update={"lora_r": 32, "init_from_job": "h1"}))],
    )  # fmt: skip
    with pytest.raises(ValueError, match="lora_r 16 -> 32"):
        check_warm_starts(plan, {"h1": base})
    with pytest.raises(ValueError, match="not a finished job"):
        check_warm_starts(plan, {})
    full = base.model_copy(update={"method": "full_sft"})
    with pytest.raises(ValueError, match="keeps the scheme"):
        check_warm_starts(plan, {"h1": full})
    same = plan.model_copy(
        update={
            "configs": [plan.configs[0].model_copy(update={"train": base.model_copy(update={"init_from_job": "h1"})})]
        }
    )
    check_warm_starts(same, {"h1": base})  # same shape, other numbers: fine


def test_collapsed_lora_predictions_never_name_a_rank_change_on_a_warm_start(tiny_task) -> None:
    task = _with(tiny_task, 5)
    parent = _record(task, 1, 0.5, rates={"fresh": 0.0, "rotten": 1.0})
    for outcome in parent.outcomes:
        outcome.first_loss, outcome.last_loss = 7.5, 4.0
        outcome.diagnosis = outcome.diagnosis.model_copy(
            update={"predicted_share": {"fresh": 1.0}, "support_by_label": {"fresh": 24, "rotten": 24}}
        )
    plan = HeuristicResearcher(task).plan(PlanContext(parent=parent, seed=1))  # the base class runs the checker
    best = parent.best()
    assert "collapsed" in plan.change and len(plan.configs) == 5
    assert all(c.train.lora_r == best.train.lora_r for c in plan.configs if c.train.init_from_job)
    assert not any("rank" in c.name for c in plan.configs)


def test_random_warm_starts_keep_the_adapter_shape(tiny_task) -> None:
    from tests.agents.test_random_researcher import _parent

    researcher = RandomResearcher(tiny_task, seed=3)
    warm = 0
    for node_seed in range(40):
        context = PlanContext(parent=_parent(tiny_task, [0.9, 0.5]), seed=node_seed)
        plan = researcher.plan(context)
        check_warm_starts(plan, context.known_trains())
        warm += sum(c.train.init_from_job is not None for c in plan.configs)
    assert warm > 0


def test_widen_for_full_fine_tuning_changes_something_and_fills_every_slot(tiny_task) -> None:
    task = _with(tiny_task, 5, method="full_sft")
    parent = _record(task, 2, 0.6)
    for outcome in parent.outcomes:
        outcome.first_loss, outcome.last_loss = 2.0, 1.2
    grandparent = _record(task, 1, 0.7)  # the parent did not improve: widen
    plan = HeuristicResearcher(task).plan(PlanContext(parent=parent, grandparent=grandparent, seed=3))
    assert plan.change == "wider hyperparameter sweep"
    best = parent.best().train
    trains = [c.train for c in plan.configs]
    assert len(trains) == 5  # configs_per_plan, not 3
    assert all(t.model_copy(update={"init_from_job": None}) != best for t in trains)  # each changes something
    assert all(t.lora_r == best.lora_r for t in trains)  # full fine-tuning has no rank to double


def test_the_llm_repair_prompt_says_which_attempt(tiny_task) -> None:
    client = ScriptedClient(['{"fixable": false}'])
    plan = HeuristicResearcher(tiny_task).root_plan()
    LLMResearcher(tiny_task, client).repair(plan, plan.configs[0], "oom", "CUDA out of memory", attempt=2)
    assert "attempt 2 of 3" in client.sent[0][-1]["content"]


def test_prompts_are_strict_at_load_and_at_render() -> None:
    fields = {"a": {"x", "y"}}
    with pytest.raises(PromptError, match=r"unknown placeholder\(s\) \['z'\]"):
        PromptSet.parse("a: $x $y $z\n", fields)
    with pytest.raises(PromptError, match=r"missing placeholder\(s\) \['y'\]"):
        PromptSet.parse("a: only $x\n", fields)
    with pytest.raises(PromptError, match="do not match the declared prompts"):
        PromptSet.parse("a: $x $y\nb: extra\n", fields)
    prompts = PromptSet.parse("a: $x and $y costs $$5\n", fields)
    assert prompts.render("a", x=1, y="two") == "1 and two costs $5"
    with pytest.raises(PromptError, match=r"missing value\(s\) \['y'\]"):
        prompts.render("a", x=1)
    with pytest.raises(PromptError, match=r"unexpected value\(s\) \['w'\]"):
        prompts.render("a", x=1, y=2, w=3)
    assert set(load_prompts().templates) == set(PROMPT_FIELDS)  # the shipped file matches its declaration


def test_the_researchers_leave_the_sample_cap_to_trex(tiny_task) -> None:
    for plan in (HeuristicResearcher(tiny_task).root_plan(), RandomResearcher(tiny_task).root_plan()):
        assert all(s.op != "cap_samples" for c in plan.configs for s in plan.recipe_for(c).steps)


def test_the_llm_researchers_plan_check_refuses_code_where_no_strong_sandbox_exists(tiny_task, monkeypatch) -> None:
    import trex.sandbox.runner as runner
    from trex.aidp.recipe import Recipe, Step

    monkeypatch.setattr(runner, "bwrap_available", lambda: False)
    monkeypatch.setattr(runner, "kernel_walls_available", lambda: False)
    monkeypatch.delenv(runner.WEAK_ENV, raising=False)
    plan = HeuristicResearcher(tiny_task).root_plan()
    code = Step(op="select_by_filter", args={"code": "def keep(row):\n    return True\n"})
    coded = plan.model_copy(update={"recipe": Recipe(steps=[*plan.recipe.steps, code])})
    researcher = LLMResearcher(tiny_task, ScriptedClient([]))
    researcher._finish(plan, {})  # the same plan without code passes
    with pytest.raises(ValueError, match="runs custom code, but .*filter with an expression instead"):
        researcher._finish(coded, {})
