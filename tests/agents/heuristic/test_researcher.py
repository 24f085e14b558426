"""Researchers: the heuristic's decisions from diagnoses, and the LLM researcher through a scripted
client and through a real local HTTP server speaking the OpenAI chat protocol."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

import pytest

from tests.http_standin import serving
from trex.agents.heuristic.researcher import HeuristicResearcher
from trex.agents.llm.researcher import LLMResearcher, StrategyChoice
from trex.evaluation.diagnostics import Diagnosis
from trex.llm.client import LLMError, OpenAIClient, ScriptedClient
from trex.llm.structured import structured
from trex.plan import ConfigOutcome, NodeRecord, PlanContext


def _diagnosis(rates: dict[str, float]) -> Diagnosis:
    return Diagnosis(
        n=10, error_rate_by_label=rates, support_by_label={}, predicted_share={}, confusion={}, error_rate_by_length={}
    )


def _record(
    task, node_id: int, val: float | None, rates: dict[str, float] | None = None, status: str = "ok"
) -> NodeRecord:
    plan = HeuristicResearcher(task).root_plan()
    outcomes = [
        ConfigOutcome(
            name=c.name,
            job_hash=f"h{node_id}{i}",
            status=status,
            train=c.train,
            val_score=None if val is None else val - 0.01 * i,
            diagnosis=_diagnosis(rates or {"fresh": 0.2, "rotten": 0.25}),
            train_rows=10_000,
            error=None if status == "ok" else "RuntimeError: boom",
        )
        for i, c in enumerate(plan.configs)
    ]
    return NodeRecord(
        id=node_id,
        parent=None,
        depth=0,
        strategy=plan.strategy,
        status="done",
        plan=plan,
        outcomes=outcomes,
        val_score=val,
    )


def test_root_plan_is_a_baseline_grid(tiny_task) -> None:
    plan = HeuristicResearcher(tiny_task).root_plan()
    assert plan.strategy == "establish_baseline"
    assert len(plan.configs) == tiny_task.limits.configs_per_plan
    assert [s.op for s in plan.recipe.steps][:4] == [
        "load_local_dataset",
        "deduplicate_by_text_hash",
        "select_by_filter",
        "select_by_random",
    ]
    assert "cap_samples" not in [s.op for s in plan.recipe.steps]  # trex appends the cap once, in the executor
    assert len({c.train.learning_rate for c in plan.configs}) == len(plan.configs)


def test_imbalanced_errors_lead_to_refine_data(tiny_task) -> None:
    parent = _record(tiny_task, 1, 0.7, {"fresh": 0.05, "rotten": 0.6})
    plan = HeuristicResearcher(tiny_task).plan(PlanContext(parent=parent, seed=5))
    assert plan.strategy == "refine_data"
    assert any(s.args.get("stratify_by") == "label" for c in plan.configs for s in plan.recipe_for(c).steps)


def test_improvement_leads_to_warm_start_and_siblings_diversify(tiny_task) -> None:
    parent = _record(tiny_task, 2, 0.8)
    grandparent = _record(tiny_task, 1, 0.7)
    researcher = HeuristicResearcher(tiny_task)
    plan = researcher.plan(PlanContext(parent=parent, grandparent=grandparent, seed=5))
    assert plan.strategy == "adjust_training"
    assert all(c.train.init_from_job == "h20" for c in plan.configs)  # the parent's best job
    sibling = _record(tiny_task, 3, 0.8).model_copy(update={"strategy": "adjust_training"})
    assert (
        researcher.plan(PlanContext(parent=parent, grandparent=grandparent, siblings=[sibling], seed=6)).strategy
        != "adjust_training"
    )


def test_children_planned_while_siblings_run_spread_over_the_moves(tiny_task) -> None:
    """A child planned while a sibling with the same strategy is in flight takes the parent's next moves, not the
    sibling's again: the nodes in flight do not repeat each other. Finished siblings change nothing."""
    parent, grandparent = _record(tiny_task, 2, 0.8), _record(tiny_task, 1, 0.7)
    researcher = HeuristicResearcher(tiny_task)
    first = researcher.plan(PlanContext(parent=parent, grandparent=grandparent, seed=5))
    assert first.strategy == "adjust_training"
    running = NodeRecord(id=3, parent=2, depth=2, strategy=first.strategy, status="running", plan=first)
    others = [
        running.model_copy(update={"id": 4, "strategy": "refine_data"}),
        running.model_copy(update={"id": 5, "strategy": "synthetic_data"}),
    ]
    second = researcher.plan(PlanContext(parent=parent, grandparent=grandparent, siblings=[running, *others], seed=6))
    assert second.strategy == "adjust_training"  # every strategy tried once: the parent's first choice again
    named = [c.train for c in first.configs if c.source == "researcher"]
    assert named and not [c for c in second.configs if c.source == "researcher" and c.train in named]
    finished = [r.model_copy(update={"status": "done"}) for r in (running, *others)]  # results in: plan as before
    after = researcher.plan(PlanContext(parent=parent, grandparent=grandparent, siblings=finished, seed=6))
    assert [c.train for c in after.configs if c.source == "researcher"] == named

    refine = researcher.plan(PlanContext(parent=_record(tiny_task, 2, 0.8, {"fresh": 0.05, "rotten": 0.6}), seed=5))
    assert refine.strategy == "refine_data" and len(refine.configs) == 2  # of three variants
    pending = running.model_copy(update={"strategy": "refine_data", "plan": refine})
    again = researcher.plan(
        PlanContext(parent=_record(tiny_task, 2, 0.8, {"fresh": 0.05, "rotten": 0.6}), siblings=[pending], seed=6)
    )
    assert again.strategy == "adjust_training"  # the untried strategy first
    every = [pending, running.model_copy(update={"id": 4}), others[1]]
    third = researcher.plan(
        PlanContext(parent=_record(tiny_task, 2, 0.8, {"fresh": 0.05, "rotten": 0.6}), siblings=every, seed=7)
    )
    assert third.strategy == "refine_data"  # every strategy tried once: the parent's first choice again
    assert third.configs[0].name not in {c.name for c in refine.configs}  # the variant the sibling left out


def test_all_failed_parent_gets_a_repair_plan(tiny_task) -> None:
    parent = _record(tiny_task, 1, None, status="failed")
    plan = HeuristicResearcher(tiny_task).plan(PlanContext(parent=parent, seed=5))
    assert plan.strategy == "adjust_training" and "failed" in plan.rationale
    assert all(c.train.learning_rate < tiny_task.training.learning_rate for c in plan.configs)


def test_structured_sends_the_validation_error_back() -> None:
    client = ScriptedClient(
        ['{"strategy": "tune everything"}', 'Sure! ```json\n{"strategy": "refine_data", "rationale": "r"}\n```']
    )
    choice = structured(client, [{"role": "user", "content": "pick"}], StrategyChoice)
    assert choice.strategy == "refine_data"
    assert "invalid" in client.sent[1][-1]["content"] and "strategy" in client.sent[1][-1]["content"]
    with pytest.raises(LLMError, match="after 2 attempts"):
        structured(ScriptedClient(["no", "still no"]), [{"role": "user", "content": "x"}], StrategyChoice, attempts=2)


def _llm_plan(task, bad_op: bool = False) -> str:
    recipe = HeuristicResearcher(task).root_plan().recipe.model_dump()
    if bad_op:
        recipe["steps"][1]["op"] = "dedupe_magic"
    configs = [
        {"name": f"lr{i}", "train": {"learning_rate": 1e-3 * (i + 1), "max_steps": 4}}
        for i in range(task.limits.configs_per_plan)
    ]
    return json.dumps({"rationale": "r", "change": "lr sweep", "recipe": recipe, "configs": configs})


def test_llm_researcher_repairs_an_invalid_plan(tiny_task) -> None:
    replies = [
        '{"strategy": "adjust_training", "rationale": "loss still falling"}',
        _llm_plan(tiny_task, bad_op=True),
        _llm_plan(tiny_task),
    ]
    client = ScriptedClient(replies)
    researcher = LLMResearcher(tiny_task, client)
    plan = researcher.plan(PlanContext(parent=_record(tiny_task, 1, 0.7), seed=3, memory="Path from the root: node 1"))
    assert plan.change == "lr sweep" and [c.train.max_steps for c in plan.configs] == [4] * len(plan.configs)
    assert "dedupe_magic" in client.sent[2][-1]["content"]  # the per-operator union names the known ops
    assert "Path from the root: node 1" in client.sent[0][1]["content"]
    assert researcher.usage.prompt_tokens > 0


def test_llm_researcher_falls_back_to_heuristic(tiny_task) -> None:
    researcher = LLMResearcher(tiny_task, ScriptedClient([]))
    plan = researcher.plan(PlanContext(parent=_record(tiny_task, 1, 0.7), seed=3))
    assert plan.strategy in {"adjust_training", "refine_data"}


class _ChatHandler(BaseHTTPRequestHandler):
    replies: list[str] = []
    requests: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
        if "response_format" in body:  # this server has no structured output, like some local servers
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(
                b'{"error": {"message": "response_format not supported", "type": "invalid_request_error"}}'
            )
            return
        text = type(self).replies.pop(0)
        payload = {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
        }
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def test_openai_client_over_real_http(monkeypatch) -> None:
    _ChatHandler.replies = ['{"strategy": "synthetic_data", "rationale": "few rows"}']
    _ChatHandler.requests = []
    monkeypatch.setenv("MY_KEY", "sk-test-123")
    with serving(_ChatHandler) as url:
        client = OpenAIClient("local-model", base_url=f"{url}/v1", api_key_env="MY_KEY")
        choice = structured(client, [{"role": "user", "content": "pick"}], StrategyChoice)
    assert choice.strategy == "synthetic_data"
    assert [r["path"] for r in _ChatHandler.requests] == ["/v1/chat/completions"] * 2  # schema refused, then text JSON
    assert (
        "response_format" in _ChatHandler.requests[0]["body"]
        and "response_format" not in _ChatHandler.requests[1]["body"]
    )
    assert _ChatHandler.requests[1]["auth"] == "Bearer sk-test-123"


def test_scarce_data_leads_to_synthetic_rows_that_run(tiny_task) -> None:
    from trex.agents.heuristic.researcher import rows_needed
    from trex.aidp.recipe import run_recipe

    parent = _record(tiny_task, 1, 0.7)
    parent.outcomes[0].train_rows = 5  # fewer unique rows than the steps consume
    plan = HeuristicResearcher(tiny_task).plan(PlanContext(parent=parent, seed=9))
    assert plan.strategy == "synthetic_data"
    dataset, stats = run_recipe(plan.recipe_for(plan.configs[0]))
    augment = next(s for s in stats if s.op == "augment_by_recombination")
    assert augment.rows_out == 2 * augment.rows_in  # copies=1: one synthetic row per original
    assert dataset.column_names == ["prompt", "completion"]
    assert len(dataset) == rows_needed(plan.configs[0].train)


def test_a_flat_learning_curve_raises_rate_and_rank(tiny_task) -> None:
    parent = _record(tiny_task, 1, 0.7, rates={"fresh": 0.1, "rotten": 0.6})  # imbalanced, but not learning
    for outcome in parent.outcomes:
        outcome.first_loss, outcome.last_loss = 2.0, 1.97
    plan = HeuristicResearcher(tiny_task).plan(PlanContext(parent=parent, seed=1))
    best = parent.best().train
    assert plan.strategy == "adjust_training" and "flat learning curve" in plan.change
    assert plan.configs[0].train.learning_rate == pytest.approx(min(1e-2, best.learning_rate * 2))
    learning = _record(tiny_task, 1, 0.7, rates={"fresh": 0.1, "rotten": 0.6})
    for outcome in learning.outcomes:
        outcome.first_loss, outcome.last_loss = 2.0, 1.2
    assert HeuristicResearcher(tiny_task).plan(PlanContext(parent=learning, seed=1)).strategy == "refine_data"


def test_collapsed_predictions_train_harder_before_rebalancing(tiny_task) -> None:
    full = tiny_task.model_copy(
        update={
            "training": tiny_task.training.model_copy(update={"method": "full_sft"}),
            "limits": tiny_task.limits.model_copy(update={"configs_per_plan": 3}),
        }
    )
    parent = _record(full, 1, 0.5, rates={"fresh": 0.0, "rotten": 1.0})  # imbalanced errors too
    for i, outcome in enumerate(parent.outcomes):
        outcome.val_score = 0.5  # a tie at chance level
        outcome.first_loss, outcome.last_loss = 7.5, 4.0 - i  # still learning; the last config fit best
        outcome.diagnosis = outcome.diagnosis.model_copy(
            update={"predicted_share": {"fresh": 1.0}, "support_by_label": {"fresh": 24, "rotten": 24}}
        )
    best = parent.best()
    assert best is parent.outcomes[-1]  # the tie goes to the lowest training loss
    plan = HeuristicResearcher(full).plan(PlanContext(parent=parent, seed=1))
    assert plan.strategy == "adjust_training" and "collapsed" in plan.change
    assert "'fresh' for 100%" in plan.rationale
    lr = best.train.learning_rate
    assert [c.train.learning_rate for c in plan.configs] == pytest.approx([min(1e-2, f * lr) for f in (2, 4, 2)])
    assert all(c.train.init_from_job == best.job_hash for c in plan.configs)  # keep what was learned
    assert plan.configs[2].train.max_steps == 2 * best.train.max_steps  # full fine-tuning has no rank: longer

    # a model that discriminates, only unevenly, is rebalanced first as before
    for outcome in parent.outcomes:
        outcome.diagnosis = outcome.diagnosis.model_copy(update={"predicted_share": {"fresh": 0.7, "rotten": 0.3}})
    assert HeuristicResearcher(full).plan(PlanContext(parent=parent, seed=1)).strategy == "refine_data"


def test_at_the_rate_ceiling_the_grid_trains_longer_instead_of_repeating(tiny_task) -> None:
    fast = tiny_task.model_copy(
        update={
            "training": tiny_task.training.model_copy(update={"learning_rate": 8e-3, "method": "full_sft"}),
            "limits": tiny_task.limits.model_copy(update={"configs_per_plan": 3}),
        }
    )
    parent = _record(fast, 1, 0.5)
    for outcome in parent.outcomes:
        outcome.first_loss, outcome.last_loss = 2.0, 1.99  # flat
    plan = HeuristicResearcher(fast).plan(PlanContext(parent=parent, seed=1))
    trains = [c.train for c in plan.configs]
    assert len(trains) == 3 and all(a != b for i, a in enumerate(trains) for b in trains[i + 1 :])
    assert max(t.learning_rate for t in trains) == 1e-2 and any(t.max_steps > fast.training.max_steps for t in trains)


def test_the_one_run_root_is_the_first_configs_filling_the_time(tiny_task) -> None:
    from trex.agents.random_researcher import RandomResearcher
    from trex.agents.recipes import rows_needed
    from trex.run.budget import TimedRun

    run = TimedRun(steps=150, seconds=700.0)
    usual = HeuristicResearcher(tiny_task).root_plan()
    one = HeuristicResearcher(tiny_task).root_plan(run, slots=1)
    assert [c.train.learning_rate for c in one.configs] == [usual.configs[0].train.learning_rate]
    train = one.configs[0].train
    assert (train.max_steps, train.max_seconds, train.epochs) == (150, 700.0, None)
    samples = [s.args["n"] for s in one.recipe.steps if s.op == "select_by_random"]
    assert samples == [rows_needed(train)]
    wide = HeuristicResearcher(tiny_task).root_plan(run, slots=8)  # one per slot, at most the root's k
    assert len(wide.configs) == len(usual.configs) == 2 and len({c.name for c in wide.configs}) == 2
    assert all(c.train.max_seconds == 700.0 for c in RandomResearcher(tiny_task).root_plan(run, slots=8).configs)
