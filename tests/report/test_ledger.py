"""The cost ledger: every node's LLM tokens and USD (charged when it is planned), compute and GPU seconds, wall time
and gain over its parent with an interval, in ``trex status --json`` and the report; an unknown price is "unpriced"."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.agents.llm.test_llm_failures import _plan_json
from tests.fakes import FakeScheduler
from tests.llm.failing_server import Answer, failing_server
from trex.agents.llm.researcher import LLMResearcher
from trex.cli.app import app
from trex.evaluation.gain import difference_interval
from trex.llm.client import OpenAIClient
from trex.report.html import render_report
from trex.report.ledger import COST_KEYS
from trex.report.status import run_status
from trex.run.loop import SearchLoop
from trex.run.options import RunOptions
from trex.store import Store

TOKENS_PER_CALL = 15  # the stand-in server's usage: 10 prompt + 5 completion tokens


def llm_run(tmp_path: Path, task, price: tuple[float, float] | None) -> Store:  # noqa: ANN001
    """Three nodes planned by the LLM researcher against the stand-in server; jobs canned (0.25 s, one GPU)."""

    def respond(body: dict) -> Answer:
        prompt = body["messages"][-1]["content"]
        if "Choose the strategy" in prompt:
            return Answer(text='{"strategy": "adjust_training", "rationale": "the loss still falls"}')
        return Answer(text=_plan_json(task, int(re.search(r"exactly (\d+) configs", prompt).group(1))))

    with failing_server(respond) as (url, _):
        store = Store(tmp_path / "ws")
        options = RunOptions(iterations=3, researcher="llm", llm_model="m", parallel_nodes=1, llm_price=price)
        store.set_meta("options", options.model_dump())  # as `trex run` records them
        client = OpenAIClient("m", url, api_key_env="TREX_NO_SUCH_KEY", timeout_s=5.0, max_retries=0)
        researcher = LLMResearcher(task, client, store)
        researcher.usage.prices = {"m": price or (0.0, 0.0)}  # as from_options: an unknown price counts no dollars
        scheduler = FakeScheduler(gpus=1, seconds=lambda job: 0.25)
        SearchLoop(store, task, options, scheduler=scheduler, researcher=researcher).run()
    return store


def test_each_node_has_its_cost_and_gain(tmp_path: Path, tiny_task) -> None:
    store = llm_run(tmp_path, tiny_task, price=(1000.0, 2000.0))  # 0.02 USD a call
    nodes = {n["id"]: n for n in run_status(store)["nodes"]}
    assert len(nodes) == 3 and all(set(n["cost"]) == set(COST_KEYS) for n in nodes.values())
    root, first, second = (nodes[i]["cost"] for i in (1, 2, 3))
    assert root["llm_tokens"] == TOKENS_PER_CALL  # the first plan: one call
    assert first["llm_tokens"] == second["llm_tokens"] == 2 * TOKENS_PER_CALL  # a strategy and a plan each
    assert first["llm_usd"] == pytest.approx(0.04)
    total = store.get_meta("llm_usage")
    assert sum(c["cost"]["llm_tokens"] for c in nodes.values()) == total["prompt_tokens"] + total["completion_tokens"]
    seen: set[str] = set()
    for node_id, node in nodes.items():  # a job two nodes share (the same plan again) is charged to the first
        new = {s.hash: s.result.seconds for s in store.jobs_of(node_id) if s.hash not in seen}
        seen |= set(new)
        assert node["cost"]["compute_s"] == pytest.approx(sum(new.values()), abs=1e-2)
        assert node["cost"]["gpu_s"] == pytest.approx(node["cost"]["compute_s"])  # one GPU per job
        assert node["cost"]["wall_s"] > 0
    assert root["compute_s"] >= 0.25 * len(store.jobs_of(1))
    base = next(s.result.validation.score for s in store.jobs_of(1) if s.job.train is None)
    for node in nodes.values():
        old = nodes[node["parent"]]["val_score"] if node["parent"] else base.value
        assert node["cost"]["gain"] == pytest.approx(node["val_score"] - old, abs=1e-6)
        low, high = node["cost"]["gain_ci"]
        assert low < node["cost"]["gain"] < high
        assert high - low == pytest.approx(2 * (0.02**2 + 0.02**2) ** 0.5, abs=1e-5)  # the canned ±0.02 each
    out = CliRunner().invoke(app, ["status", str(tmp_path / "ws"), "--json"])
    assert json.loads(out.output)["nodes"][1]["cost"] == first
    page = render_report(store)
    assert "Cost and gain per node" in page and 'aria-label="gain against cost"' in page and "$0.0400" in page


def test_an_unknown_price_is_unpriced_never_zero(tmp_path: Path, tiny_task) -> None:
    store = llm_run(tmp_path, tiny_task, price=None)  # model "m" at no local address: no price known
    status = run_status(store)
    assert all(n["cost"]["llm_usd"] is None and n["cost"]["llm_tokens"] > 0 for n in status["nodes"])
    assert status["usage"]["llm_usd"] is None
    page = render_report(store)
    assert "unpriced" in page and "$0.0000" not in page and "0.0000 USD" not in page


def test_interval_of_a_difference() -> None:
    gain, low, high = difference_interval((0.8, 0.75, 0.84), (0.6, 0.57, 0.62))
    assert gain == pytest.approx(0.2)
    assert low == pytest.approx(0.2 - (0.05**2 + 0.02**2) ** 0.5)
    assert high == pytest.approx(0.2 + (0.04**2 + 0.03**2) ** 0.5)


def test_an_older_workspace_charges_its_earlier_spending_to_no_node(tmp_path: Path) -> None:
    store = Store(tmp_path / "ws")
    store.add_node(None, 0, "establish_baseline", "{}", [])
    store.conn.execute("DELETE FROM meta WHERE key = 'llm_attributed'")  # as written by a release without the ledger
    store.set_meta("llm_usage", {"prompt_tokens": 900, "completion_tokens": 100, "usd": 0.5})
    store.add_node(1, 1, "adjust_training", "{}", [])
    assert store.llm_cost_per_node() == {}
    store.set_meta("llm_usage", {"prompt_tokens": 910, "completion_tokens": 105, "usd": 0.52})
    store.add_node(1, 1, "adjust_training", "{}", [])
    charged = store.llm_cost_per_node()[3]
    assert charged["prompt_tokens"] == 10 and charged["completion_tokens"] == 5
    assert charged["usd"] == pytest.approx(0.02)
