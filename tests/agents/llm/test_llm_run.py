"""A whole `trex run --researcher llm` against a local OpenAI-compatible server, stopped by its LLM budget."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.aidp.openai_server import openai_server
from trex.agents.heuristic.researcher import HeuristicResearcher

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_llm_run_over_http_until_the_llm_budget_stops_it(tiny_task, tmp_path: Path) -> None:
    exclude = {"strategy": True, "configs": {"__all__": {"source"}}}
    plan = HeuristicResearcher(tiny_task).root_plan().model_dump(exclude=exclude)  # no strategy: chosen before
    plan.update(change="the LLM's sweep", rationale="lower the rate")
    for config in plan["configs"]:
        config["train"]["learning_rate"] = 0.0005
    plan["configs"] = plan["configs"][: tiny_task.limits.configs_per_plan]

    def llm(messages: list[dict]) -> str:
        prompt = messages[-1]["content"]
        if "look things up" in prompt:
            return '{"done": true}'
        if "Choose the strategy" in prompt:
            return '{"strategy": "adjust_training", "rationale": "the loss is still falling"}'
        return json.dumps(plan)

    ws = tmp_path / "ws"
    with openai_server(llm, usage=(1000, 100)) as (url, requests):  # 0.00021 USD a call at gpt-4o-mini prices
        out = subprocess.run(
            [
                sys.executable, "-m", "trex", "run", str(ROOT / "examples" / "tasks" / "tiny.yaml"),
                "--workspace", str(ws), "--iterations", "5", "--researcher", "llm", "--llm-base-url", url,
                "--llm-model", "gpt-4o-mini", "--llm-api-key-env", "TREX_TEST_KEY", "--llm-usd", "0.0003",
            ],
            capture_output=True, text=True, timeout=900,
            env={**os.environ, "TREX_TEST_KEY": "sk-never-stored-42"},
        )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "(limit: llm_usd)" in out.stdout  # the root's call and node 2's three spent the budget: no third node
    assert requests[0]["max_tokens"] == 1  # the start check, before the workspace, charged to no node
    assert len(requests) == 5  # the start check; root plan; research (done), strategy, plan
    with sqlite3.connect(ws / "trex.db") as conn:
        rows = conn.execute("SELECT id, strategy, plan FROM nodes ORDER BY id").fetchall()
        dump = "\n".join(str(r) for r in conn.execute("SELECT * FROM meta").fetchall())
        dump += "\n".join(str(r) for r in conn.execute("SELECT data FROM events").fetchall())
    assert [r[1] for r in rows] == ["establish_baseline", "adjust_training"]
    assert json.loads(rows[0][2])["change"] == "the LLM's sweep"  # the LLM wrote the root plan too
    assert json.loads(rows[1][2])["change"] == "the LLM's sweep"
    assert "sk-never-stored-42" not in dump and "sk-never-stored-42" not in (ws / "report.html").read_text()
