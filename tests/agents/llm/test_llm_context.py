"""What reaches the LLM researcher (scripted client): the memory, the tools' results, the parent whole with its
diagnosis, data statistics and sampled bad cases, the budget, the surrogate's proposals and its reserved slot;
the LLM's root plan; the heuristic's surrogate slot and longer training while the loss still falls."""

from __future__ import annotations

import json

from tests.agents.heuristic.test_researcher import _record
from trex.agents.heuristic.researcher import HeuristicResearcher
from trex.agents.llm.render import LABELS_SHOWN, config_text, diagnosis_text, node_text, sample_bad_cases
from trex.agents.llm.researcher import LLMResearcher
from trex.agents.proposals import TRUST_UNTIL, observation_of, propose_configs, total_steps
from trex.aidp.recipe import StepStats
from trex.evaluation.diagnostics import Diagnosis
from trex.evaluation.run import BadCase
from trex.llm.client import ScriptedClient
from trex.plan import BudgetLeft, PlanContext


def _parent(task):
    parent = _record(task, 1, 0.7)
    for i, outcome in enumerate(parent.outcomes):
        outcome.val_low, outcome.val_high = outcome.val_score - 0.05, outcome.val_score + 0.05
        outcome.losses = [(s, 2.0 - 0.1 * s) for s in range(1, 13)]
        outcome.first_loss, outcome.last_loss = outcome.losses[0][1], outcome.losses[-1][1]
        outcome.steps, outcome.seconds = 12, 30.0 + i
        outcome.data_stats = [
            StepStats(step=1, op="load_local_dataset", rows_in=0, rows_out=960, seconds=0.1),
            StepStats(step=4, op="select_by_random", rows_in=950, rows_out=96, seconds=0.1, dropped=854,
                      reason="not drawn in the sample"),
        ]  # fmt: skip
        outcome.diagnosis = Diagnosis(
            n=40, error_rate_by_label={"fresh": 0.1, "rotten": 0.55}, support_by_label={"fresh": 20, "rotten": 20},
            predicted_share={"fresh": 0.725, "rotten": 0.275}, confusion={"rotten": {"fresh": 11, "rotten": 9}},
            error_rate_by_length={"short": 0.2, "medium": 0.3, "long": 0.45},
        )  # fmt: skip
        outcome.bad_cases = [
            BadCase(input=f"rotten review {j}", expected="rotten", predicted="fresh") for j in range(11)
        ] + [BadCase(input="fresh review", expected="fresh", predicted="rotten")]
    return parent


def _answer(k: int) -> str:
    from trex.agents.heuristic.researcher import base_recipe

    recipe = base_recipe(_TASK, 16, 0).model_dump()
    configs = [{"name": f"llm-{i}", "train": {"learning_rate": 1e-3 * (i + 1), "max_steps": 4}} for i in range(k)]
    return json.dumps({"rationale": "r", "change": "llm sweep", "recipe": recipe, "configs": configs})


_TASK = None


def _observations(task, n: int) -> list:
    base = task.training
    trains = [
        base.model_copy(update={"learning_rate": base.learning_rate * (1 + i), "max_steps": 4 + i}) for i in range(n)
    ]
    return [observation_of(t, 0.5 + 0.05 * (i % 3), {}) for i, t in enumerate(trains)]


def test_the_plan_prompt_holds_memory_tools_diagnosis_data_bad_cases_and_budget(tiny_task) -> None:
    global _TASK
    _TASK = tiny_task
    client = ScriptedClient(['{"strategy": "refine_data", "rationale": "rotten errs"}', _answer(2)])
    context = PlanContext(
        parent=_parent(tiny_task), seed=4, memory="Path from the root: node 1 MEMORY-MARK",
        budget=BudgetLeft(nodes=3, seconds=600),
    )  # fmt: skip
    plan = LLMResearcher(tiny_task, client).plan(context)
    assert plan.change == "llm sweep" and plan.strategy == "refine_data"
    strategy_prompt, plan_prompt = client.sent[0][-1]["content"], client.sent[1][-1]["content"]
    for prompt in (strategy_prompt, plan_prompt):
        assert "MEMORY-MARK" in prompt and "3 nodes and 10.0 minutes left" in prompt
        assert "val 0.700 [0.650, 0.750]" in prompt  # 3 decimals with the interval
        assert "error rate by label: fresh 0.10, rotten 0.55" in prompt
        assert "error rate by input length (terciles): short 0.20, medium 0.30, long 0.45" in prompt
        assert "confusion (reference -> predicted counts): rotten -> {'fresh': 11, 'rotten': 9}" in prompt
        assert "predicted share: fresh 0.72, rotten 0.28" in prompt
        assert "training loss by step: 1: 1.900" in prompt
        assert "pool 960 rows, trained on 10000 rows" in prompt and "4 select_by_random 950->96" in prompt
        assert "cost: 12 steps, 30 s" in prompt and '"lr_scheduler":"linear"' in prompt  # whole settings
        assert "expected 'fresh' predicted 'rotten'" in prompt  # the rare error type is sampled too
        assert "expected 'rotten' predicted 'fresh'" in prompt
    assert "Strategy chosen: refine_data" in plan_prompt and "labels {" in plan_prompt  # the pool's labels
    assert "decontaminate (" not in plan_prompt and "cap_samples (" not in plan_prompt  # trex appends them
    assert "warm start" in client.sent[1][0]["content"] and "schedule restart" in client.sent[1][0]["content"]


def test_a_config_whose_training_was_fitted_to_its_time_says_so(tiny_task) -> None:
    record = _parent(tiny_task)
    outcome = record.outcomes[0]
    outcome.train = outcome.train.model_copy(update={"max_steps": 40})
    assert "cost: 12 steps, 30 s (stopped at 12 of 40 planned steps: fitted to the time it had)" in "\n".join(
        config_text(outcome, record)
    )
    outcome.steps = 40
    assert "stopped at" not in "\n".join(config_text(outcome, record))


def test_bad_cases_are_sampled_per_error_type_or_by_lowest_score() -> None:
    cases = [BadCase(input=f"a{i}", expected="x", predicted="y") for i in range(10)]
    cases += [BadCase(input="b", expected="y", predicted="x"), BadCase(input="c", expected="y", predicted="z")]
    picked = sample_bad_cases(cases, "choices", n=4, seed=1)
    assert {(c.expected, c.predicted) for c in picked} == {("x", "y"), ("y", "x"), ("y", "z")}
    assert picked == sample_bad_cases(cases, "choices", n=4, seed=1)
    scored = [BadCase(input=str(i), expected="e", predicted="p", score=s) for i, s in enumerate([0.5, 0.1, 0.9, 0.0])]
    assert [c.score for c in sample_bad_cases(scored, "generate", n=2)] == [0.0, 0.1]


def test_one_slot_is_the_surrogates_best_proposal_and_is_recorded(tiny_task) -> None:
    global _TASK
    _TASK = tiny_task
    observations = _observations(tiny_task, 6)
    client = ScriptedClient(['{"strategy": "adjust_training", "rationale": "r"}', _answer(1)])
    context = PlanContext(parent=_parent(tiny_task), seed=9, observations=observations)
    plan = LLMResearcher(tiny_task, client).plan(context)
    assert [c.source for c in plan.configs] == ["researcher", "surrogate"]
    best = _parent(tiny_task).best()
    expected = propose_configs(tiny_task, observations, best.train, 3, 9, warm_from=best)
    assert plan.configs[1].train == expected[0]
    assert (
        "trex adds proposal 1 itself" in client.sent[1][-1]["content"]
        and "write the other 1" in client.sent[1][-1]["content"]
    )


def test_surrogate_proposals_are_deterministic_and_survive_a_resume(tiny_task) -> None:
    observations = _observations(tiny_task, 6)
    best = _parent(tiny_task).best()
    a = propose_configs(tiny_task, observations, best.train, 3, seed=17, warm_from=best)
    resumed = [o.model_validate_json(o.model_dump_json()) for o in observations]  # as read back from the store
    assert a == propose_configs(tiny_task, resumed, best.train, 3, seed=17, warm_from=best)
    assert len(a) == 3 and propose_configs(tiny_task, observations[:3], best.train, 3, seed=17) == []
    for cfg in a:  # a proposed warm start continues the best job with its adapter's shape
        assert cfg.init_from_job in (None, best.job_hash)
        if cfg.init_from_job:
            assert cfg.lora_r == best.train.lora_r


def test_the_llm_writes_the_root_plan_and_the_heuristic_is_its_fallback(tiny_task) -> None:
    global _TASK
    _TASK = tiny_task
    client = ScriptedClient([_answer(2)])
    plan = LLMResearcher(tiny_task, client).root_plan()
    assert plan.strategy == "establish_baseline" and plan.change == "llm sweep"
    assert "Write the first plan" in client.sent[0][-1]["content"] and "labels {" in client.sent[0][-1]["content"]
    fallback = LLMResearcher(tiny_task, ScriptedClient([])).root_plan()
    assert fallback == HeuristicResearcher(tiny_task).root_plan()


def test_the_heuristic_trains_longer_while_the_loss_still_falls(tiny_task) -> None:
    parent, grandparent = _parent(tiny_task), _record(tiny_task, 0, 0.6)
    for outcome in parent.outcomes:
        outcome.diagnosis = outcome.diagnosis.model_copy(
            update={"error_rate_by_label": {"fresh": 0.3, "rotten": 0.35}}
        )
    plan = HeuristicResearcher(tiny_task).plan(PlanContext(parent=parent, grandparent=grandparent, seed=2))
    best = parent.best()
    assert plan.strategy == "adjust_training" and "still falls" in plan.rationale
    assert plan.configs[0].train.max_steps == 2 * best.train.max_steps and plan.configs[0].train.init_from_job
    # a levelled-off curve continues at the same length
    for outcome in parent.outcomes:
        outcome.losses = [(s, 1.0) for s in range(1, 13)]
    again = HeuristicResearcher(tiny_task).plan(PlanContext(parent=parent, grandparent=grandparent, seed=2))
    assert again.configs[0].train.max_steps == best.train.max_steps


def test_the_heuristic_gives_one_slot_to_the_surrogate(tiny_task) -> None:
    parent, grandparent = _parent(tiny_task), _record(tiny_task, 0, 0.6)
    for outcome in parent.outcomes:
        outcome.diagnosis = outcome.diagnosis.model_copy(
            update={"error_rate_by_label": {"fresh": 0.3, "rotten": 0.35}}
        )
    context = PlanContext(parent=parent, grandparent=grandparent, seed=2, observations=_observations(tiny_task, 6))
    plan = HeuristicResearcher(tiny_task).plan(context)
    assert [c.source for c in plan.configs] == ["researcher", "surrogate"]
    assert plan == HeuristicResearcher(tiny_task).plan(context)  # deterministic for a seed


def test_a_search_plan_leaves_the_last_node_its_reserve(tiny_task) -> None:
    """Under a wall-clock budget no search config, the surrogate's included, trains longer than the time the
    search may still take (the final model's reserve is the rest): 60 s, one slot, two configs, 5 s fixed, 5 s a
    step -> at most 5 steps each."""
    parent, grandparent = _parent(tiny_task), _record(tiny_task, 0, 0.6)
    budget = BudgetLeft(seconds=600.0, slots=1, step_s=5.0, job_fixed_s=5.0, job_timeout_s=900.0, search_s=60.0)
    context = PlanContext(
        parent=parent, grandparent=grandparent, seed=2, observations=_observations(tiny_task, 6), budget=budget
    )
    free = HeuristicResearcher(tiny_task).plan(context.model_copy(update={"budget": BudgetLeft()}))
    assert max(c.train.max_steps for c in free.configs) > 5  # the test would not test the cap otherwise
    plan = HeuristicResearcher(tiny_task).plan(context)
    assert [c.train.max_steps for c in plan.configs] == [min(5, c.train.max_steps) for c in free.configs]


def test_few_observations_keep_proposals_in_a_trust_region_around_the_best_config(tiny_task) -> None:
    best = _parent(tiny_task).best()
    lr, done = best.train.learning_rate, total_steps(best.train, {})
    few = _observations(tiny_task, 6)  # rates up to x6 the default, which the region's x4 around best cuts
    cold = propose_configs(tiny_task, few, best.train, 5, seed=2, fixed={"warm_start": False})
    warm = propose_configs(tiny_task, few, best.train, 5, seed=2, warm_from=best, fixed={"warm_start": True})
    assert len(cold) == len(warm) == 5
    for cfg in cold:
        assert lr / 4 <= cfg.learning_rate <= lr * 4 and done / 2 <= cfg.max_steps <= done * 4
        assert cfg.init_from_job is None
    for cfg in warm:  # a warm start trains a quarter to three times the steps its weights have seen
        assert lr / 4 <= cfg.learning_rate <= lr * 4 and cfg.init_from_job == best.job_hash
        assert done / 4 - 1 <= cfg.max_steps <= done * 3
    many = _observations(tiny_task, TRUST_UNTIL)  # past the region: the whole space, as before
    wide = propose_configs(tiny_task, many, best.train, 8, seed=2, fixed={"warm_start": False})
    assert any(not lr / 4 <= c.learning_rate <= lr * 4 or not done / 2 <= c.max_steps <= done * 4 for c in wide)


def test_a_generate_task_shows_its_lowest_scored_cases_groups_and_a_bounded_diagnosis(tiny_task) -> None:
    record = _parent(tiny_task)
    answers = [f"answer {i} " + "words " * 100 for i in range(300)]  # a generate task: a long label per reference
    diagnosis = Diagnosis(
        n=300, error_rate_by_label={a: 1.0 for a in answers}, support_by_label={a: 1 for a in answers},
        predicted_share={a: 1 / 300 for a in answers}, confusion={a: {"answer 0": 1} for a in answers[1:]},
        error_rate_by_length={"short": 0.9, "medium": 0.9, "long": 0.9},
    )  # fmt: skip
    for outcome in record.outcomes:
        outcome.diagnosis, outcome.val_groups = diagnosis, {"civil": 0.61, "criminal": 0.44}
        outcome.sample_labels = {"fresh": 50, "rotten": 46}
        outcome.bad_cases = [
            BadCase(input=f"q{i}", expected=f"gold {i}", predicted="wrong", score=s, group="civil")
            for i, s in enumerate([0.8, 0.05, 0.6, 0.0, 0.3, 0.9, 0.7, 0.2])
        ]
    text = node_text(record, "generate")
    cases = [line for line in text.splitlines() if line.startswith("  - input")]
    assert [c.split("score ")[1].split(",")[0] for c in cases] == ["0.00", "0.05", "0.20", "0.30", "0.60", "0.70"]
    assert all("group civil" in c for c in cases)
    assert "score by group: civil 0.61, criminal 0.44" in text
    assert "trained on 10000 rows (completions: fresh 50, rotten 46)" in text
    lines = diagnosis_text(diagnosis)
    assert len(lines) == 5 and max(len(line) for line in lines) < 1000  # 300 long answers, a bounded text
    assert f"(+{300 - LABELS_SHOWN} more labels)" in lines[0]
    assert "most frequent confusions (of 299 labels)" in lines[4]
    assert "words words ...' -> 'answer 0' 1" in lines[4]  # long answers cut to a readable length
