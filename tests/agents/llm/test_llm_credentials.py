"""No credential stored anywhere: a `trex run --researcher llm` whose base URL carries `user:secret@` and whose
key is in the environment, with a plan that uses an LLM operator (generate_dataset_with_llm, run in the job's
worker). The plan names the endpoint (`llm: researcher`); the worker resolves it from the environment and
reaches the server with the key; then the store, every file of the workspace (job.json, logs, report) and the
run's output are searched for the secret and the key. The child's first call gets a 401: the node falls
back to the heuristic and the run still ends with exit 0."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.llm.failing_server import FAILURES, Answer, failing_server
from trex.agents.heuristic.researcher import HeuristicResearcher

ROOT = Path(__file__).resolve().parents[3]
SECRET, KEY = "pw-never-stored-7", "sk-never-stored-43"
GENERATE = {
    "op": "generate_dataset_with_llm",
    "args": {"instruction": "movie review -> fresh or rotten", "n": 4, "workers": 1, "input_column": "text"},
}


def _root_plan(task) -> str:
    plan = (
        HeuristicResearcher(task)
        .root_plan()
        .model_dump(exclude={"strategy": True, "configs": {"__all__": {"source"}}})
    )
    plan.update(change="synthetic rows", rationale="r")
    plan["recipe"]["steps"].insert(1, GENERATE)  # after the loader
    plan["configs"] = plan["configs"][: task.limits.configs_per_plan]
    return json.dumps(plan)


@pytest.mark.slow
def test_no_credential_reaches_the_store_jobs_report_or_logs(tiny_task, tmp_path: Path) -> None:
    plan = _root_plan(tiny_task)
    rows = {"items": [{"text": f"a fine film number {i}", "label": "fresh"} for i in range(4)]}

    def respond(body: dict) -> Answer:
        prompt = body["messages"][-1]["content"]
        if body.get("max_tokens") == 1:  # the start check before the workspace: the server is there
            return Answer(text="OK")
        if "Write the first plan" in prompt:
            return Answer(text=plan)
        if body["messages"][0]["content"].startswith("You write new, diverse"):
            return Answer(text=json.dumps(rows))
        return FAILURES["auth"]

    ws = tmp_path / "ws"
    with failing_server(respond) as (url, requests):
        secret_url = url.replace("http://", f"http://user:{SECRET}@")
        out = subprocess.run(
            [
                sys.executable, "-m", "trex", "run", str(ROOT / "examples" / "tasks" / "tiny.yaml"),
                "--workspace", str(ws), "--iterations", "2", "--researcher", "llm", "--llm-base-url", secret_url,
                "--llm-model", "gpt-4o-mini", "--llm-api-key-env", "TREX_TEST_KEY",
            ],
            capture_output=True, text=True, timeout=900, env={**os.environ, "TREX_TEST_KEY": KEY},
        )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    generated = [r for r in requests if r["messages"][0]["content"].startswith("You write new, diverse")]
    assert generated, "the worker resolved the endpoint by name and called it"
    basic = "Basic " + base64.b64encode(f"user:{SECRET}".encode()).decode()  # httpx sends the URL's userinfo
    assert all(r["_authorization"] in (f"Bearer {KEY}", basic) for r in generated), generated[0]["_authorization"]
    with sqlite3.connect(ws / "trex.db") as conn:
        root = json.loads(conn.execute("SELECT plan FROM nodes WHERE id = 1").fetchone()[0])
        fallbacks = conn.execute("SELECT data FROM events WHERE kind = 'researcher_fallback'").fetchall()
    assert root["recipe"]["steps"][1]["args"]["llm"] == "researcher"  # the name, never the URL
    assert [json.loads(f[0])["cause"] for f in fallbacks] == ["auth"]
    texts = {"stdout": out.stdout, "stderr": out.stderr}
    for path in ws.rglob("*"):
        if path.is_file():
            texts[str(path)] = path.read_bytes().decode("utf-8", errors="replace")
    assert any(name.endswith("job.json") for name in texts) and any(name.endswith("report.html") for name in texts)
    leaks = [name for name, text in texts.items() if SECRET in text or KEY in text]
    assert not leaks
