"""A search through every way an LLM call fails: the stand-in server answers the LLM researcher's strategy and
plan calls with each failure in turn (context length until nothing is left to cut, then 400, 401, 404, 429,
500, a slow answer past the timeout, empty, not JSON, tool calls only, a refusal). Each context overflow cuts
the prompt (a ``prompt_cut`` event), each other failure gives that node to the heuristic (a
``researcher_fallback`` event with the cause), and the search runs to its last node. Jobs are canned
(``FakeScheduler``): no training."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.fakes import FakeScheduler
from tests.llm.failing_server import FAILURES, Answer, failing_server
from trex.agents.heuristic.researcher import HeuristicResearcher
from trex.agents.llm.researcher import LLMResearcher
from trex.llm.client import OpenAIClient
from trex.run.loop import SearchLoop
from trex.run.options import RunOptions
from trex.store import Store

OTHERS = ["bad_request", "auth", "not_found", "rate_limit", "server", "slow", "empty", "not_json", "tool_calls"]
ORDER = ["context_length"] * 5 + [*OTHERS, "refusal"]  # 5 overflows: 4 cuts, then nothing is left to cut
KIND = {"slow": "timeout", "empty": "bad_answer", "not_json": "bad_answer", "tool_calls": "bad_answer"}


def _plan_json(task, k: int) -> str:
    plan = (
        HeuristicResearcher(task)
        .root_plan()
        .model_dump(exclude={"strategy": True, "configs": {"__all__": {"source"}}})
    )
    plan.update(change="the LLM's plan", rationale="r")
    plan["configs"] = plan["configs"][:k]
    for i, config in enumerate(plan["configs"]):
        config["name"] = f"llm-{i}"
    return json.dumps(plan)


def test_a_search_runs_through_every_llm_failure_to_its_end(tmp_path: Path, tiny_task) -> None:
    failures = list(ORDER)

    def respond(body: dict) -> Answer:
        prompt = body["messages"][-1]["content"]
        if "Write the first plan" not in prompt and failures:
            return FAILURES[failures.pop(0)]
        if "Choose the strategy" in prompt:
            return Answer(text='{"strategy": "adjust_training", "rationale": "the loss still falls"}')
        return Answer(text=_plan_json(tiny_task, int(re.search(r"exactly (\d+) configs", prompt).group(1))))

    iterations = 2 + len(OTHERS) + 2  # root, the overflowing node, one node per other failure, then clean ones
    with failing_server(respond) as (url, requests):
        store = Store(tmp_path / "ws")
        client = OpenAIClient("m", url, api_key_env="TREX_NO_SUCH_KEY", timeout_s=1.0, max_retries=0)
        researcher = LLMResearcher(tiny_task, client, store)
        options = RunOptions(iterations=iterations, researcher="llm", llm_model="m", parallel_nodes=1)
        summary = SearchLoop(store, tiny_task, options, scheduler=FakeScheduler(gpus=1), researcher=researcher).run()
    assert not failures, "every failure was served"
    assert summary.nodes == iterations
    cuts = [e["data"]["cut"] for e in store.events("prompt_cut")]
    assert cuts == ["memory_half", "bad_cases", "siblings"] or cuts == [
        "memory_half",
        "memory",
        "bad_cases",
        "siblings",
    ]
    causes = [e["data"]["cause"] for e in store.events("researcher_fallback")]
    assert causes == ["context_length", *[KIND.get(f, f) for f in OTHERS], "refusal"]
    strategies = [n.strategy for n in sorted(store.load_tree().nodes.values(), key=lambda n: n.id)]
    assert strategies[-1] == "adjust_training"  # the LLM plans again once the failures are over
    cut_prompts = [
        r["messages"][-1]["content"] for r in requests if "[cut: the prompt" in r["messages"][-1]["content"]
    ]
    assert cut_prompts, "the cut prompts say so"
