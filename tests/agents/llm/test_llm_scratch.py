"""A task without training data: the LLM researcher's root builds one from a Hub dataset and from synthesis.

The fast tests check the root's plan check (a mapped label column that cannot produce the task's labels goes back
to the LLM with the reason) and the fallback's synthesized root. The slow test runs `trex run --researcher llm` on
the support-tickets task without its training file, against a local stand-in of the Hub (``hub_server``: the Hub
search and ``load_remote_dataset`` read it through ``HF_ENDPOINT``) and a scripted OpenAI-compatible endpoint that
plans and writes rows; the root and two children train, and the best node beats the base model.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from datasets import Dataset

from tests.agents.heuristic.test_researcher import _record
from tests.aidp.hub_server import hub_server
from tests.aidp.openai_server import openai_server
from trex.agents.llm import scratch
from trex.agents.llm.researcher import LLMResearcher
from trex.assets.tickets import LABELS, ticket_splits
from trex.llm.client import ScriptedClient
from trex.plan import PlanContext
from trex.store import Store
from trex.task.spec import load_task

ROOT = Path(__file__).resolve().parents[3]
HUB_ID = "acme/support-messages"
DEPARTMENTS = {"0": "billing", "1": "shipping", "2": "technical"}  # the Hub dataset's class indices


def _task(tmp_path: Path, iterations: int = 3) -> Path:
    spec = yaml.safe_load((ROOT / "examples" / "tasks" / "support_tickets.yaml").read_text(encoding="utf-8"))
    del spec["train_data"]
    spec["examples"] = [{"text": "I was charged twice for my plan this month", "label": "billing"}]
    spec["limits"].update(max_iterations=iterations, configs_per_plan=2)
    path = tmp_path / "scratch.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def _hub_rows() -> list[dict]:
    """The Hub dataset: other tickets, named otherwise (body, dept index), with a fourth department to drop."""
    rows = [{"body": r["text"], "dept": LABELS.index(r["label"])} for r in ticket_splits(seed=31)["train"][:600]]
    return rows + [{"body": f"I want to buy the enterprise plan for {n} seats", "dept": 3} for n in range(20)]


def _plan(labels: dict[str, str], lr: float = 0.002, steps: int = 30) -> dict:
    recipe = {"steps": [
        {"op": "load_remote_dataset", "args": {"name": HUB_ID}},
        {"op": "map_columns", "args": {"columns": {"body": "text", "dept": "label"}, "labels": labels}},
        {"op": "generate_dataset_with_llm", "args": {"instruction": "support messages routed to a department",
                                                     "n": 60, "rows_per_call": 10, "from_scratch": True}},
        {"op": "deduplicate_by_text_hash", "args": {"column": "text"}},
        {"op": "format_for_training", "args": {"prompt_template": "Message: {text}\nDepartment:",
                                               "completion_template": "{label}", "label_field": "label",
                                               "label_map": {"billing": " billing", "shipping": " shipping",
                                                             "technical": " technical"}}},
    ]}  # fmt: skip
    train = {"method": "full_sft", "learning_rate": lr, "max_steps": steps, "batch_size": 16, "max_length": 64}
    configs = [
        {"name": f"lr{lr}", "train": train},
        {"name": f"lr{lr / 2}", "train": {**train, "learning_rate": lr / 2}},
    ]
    return {"rationale": "Hub tickets mapped, plus rows for every label", "change": "a built training set",
            "recipe": recipe, "configs": configs}  # fmt: skip


def test_a_mapping_that_cannot_produce_the_labels_goes_back_to_the_llm(tmp_path: Path, monkeypatch) -> None:
    task = load_task(_task(tmp_path))
    preview = Dataset.from_list(_hub_rows()[:30] + _hub_rows()[-3:])
    monkeypatch.setitem(scratch._PREVIEWS, (HUB_ID, None, "train", None), preview)  # noqa: SLF001 (no network)
    wrong = _plan({"0": "billing", "1": "shipping", "2": "tech"})  # 'tech' is no task label
    replies = ['{"query": "customer support tickets"}', json.dumps(wrong), json.dumps(_plan(DEPARTMENTS))]
    client = ScriptedClient(replies)
    researcher = LLMResearcher(task, client, Store(tmp_path / "ws"), llm_endpoint="researcher")
    plan = researcher.root_plan()
    repair = client.sent[2][-1]["content"]
    assert "cannot produce the task's labels" in repair and "['tech'] are not task labels" in repair
    assert "values are ['0', '1', '2', '3']" in repair  # what the Hub column holds, for the repair
    write = plan.recipe.steps[2].args
    assert write["labels"] == ["billing", "shipping", "technical"] and write["examples"] == task.examples
    assert write["prompt_format"] == task.eval.prompt_template and write["llm"] == "researcher"
    assert plan.recipe.steps[1].args["source"] == f"hub:{HUB_ID}"
    assert "training set must be built" in client.sent[0][-1]["content"]


def test_without_a_valid_llm_answer_the_fallback_synthesizes_and_adjusts_training_on_the_built_recipe(
    tmp_path: Path,
) -> None:
    task = load_task(_task(tmp_path))
    researcher = LLMResearcher(task, ScriptedClient([]), Store(tmp_path / "ws"), llm_endpoint="researcher")
    root = researcher.root_plan()  # the scripted client has no answer: LLMError, the fallback plans
    assert [s.op for s in root.recipe.steps] == ["generate_dataset_with_llm", "format_for_training"]
    assert root.recipe.steps[0].args["from_scratch"] and root.recipe.steps[0].args["examples"] == task.examples
    root.recipe.validate_steps()
    with_file = task.model_copy(update={"train_data": "embedded:support_tickets/train"})
    parent = _record(with_file, 1, 0.6).model_copy(update={"plan": root})
    child = researcher.fallback.plan(PlanContext(parent=parent, seed=1, memory=""))
    assert child.strategy == "adjust_training" and child.recipe == root.recipe


def _llm(plans: list[dict]) -> object:
    def respond(messages: list[dict]) -> str:
        prompt = messages[-1]["content"]
        if messages[0]["content"].startswith("You write new, diverse"):  # the generator, from scratch
            label = next(name for name in LABELS if f"is {name!r}" in prompt)
            batch = int(prompt.split("(batch ")[1].split(")")[0])
            rows = [r for r in ticket_splits(seed=100 + batch)["validation"] if r["label"] == label][:10]
            return json.dumps({"items": rows})
        if "search the Hugging Face Hub" in prompt:
            return '{"query": "support messages"}'
        if "look things up" in prompt:
            return '{"done": true}'
        if "Choose the strategy" in prompt:
            return '{"strategy": "adjust_training", "rationale": "train longer on the built set"}'
        return json.dumps(plans.pop(0))

    return respond


@pytest.mark.slow
def test_a_task_without_training_data_builds_one_from_the_hub_and_synthesis_and_learns(tmp_path: Path) -> None:
    repo = tmp_path / "hub" / HUB_ID / "data"
    repo.mkdir(parents=True)
    (repo / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _hub_rows()), encoding="utf-8")
    plans = [_plan(DEPARTMENTS), _plan(DEPARTMENTS, 0.002, 90), _plan(DEPARTMENTS, 0.003, 90)]
    ws = tmp_path / "ws"
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")}
    with hub_server(tmp_path / "hub") as (hub, hub_requests), openai_server(_llm(plans)) as (url, requests):
        env.update(HF_ENDPOINT=hub, HF_HOME=str(tmp_path / "hf"), TREX_TEST_KEY="sk-test")
        out = subprocess.run(
            [sys.executable, "-m", "trex", "run", str(_task(tmp_path)), "--workspace", str(ws), "--researcher", "llm",
             "--llm-base-url", url, "--llm-model", "gpt-4o-mini", "--llm-api-key-env", "TREX_TEST_KEY",
             "--no-wall-clock"],
            capture_output=True, text=True, timeout=1500, env=env,
        )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert any("/api/datasets?" in r for r in hub_requests) and any("/resolve/" in r for r in hub_requests)
    with sqlite3.connect(ws / "trex.db") as conn:
        nodes = conn.execute("SELECT id, parent, val_score, best_job FROM nodes ORDER BY id").fetchall()
        result = json.loads(conn.execute("SELECT result FROM jobs WHERE hash = ?", (nodes[0][3],)).fetchone()[0])
        best = max(nodes, key=lambda n: n[2] or 0)
        best_result = json.loads(conn.execute("SELECT result FROM jobs WHERE hash = ?", (best[3],)).fetchone()[0])
        base = json.loads(conn.execute("SELECT value FROM meta WHERE key = 'base'").fetchone()[0])
    assert len(nodes) == 3 and [n[1] for n in nodes[1:]] == [1, 1]  # the root and two children
    stats = {s["op"]: s for s in result["data_stats"]}
    built = stats["deduplicate_by_text_hash"]
    assert set(built["sources"]) == {f"hub:{HUB_ID}", "synthetic"} and set(built["labels"]) == set(LABELS)
    assert stats["map_columns"]["dropped"] == 20  # the fourth department has no mapping
    assert stats["decontaminate"]["step"] == 4  # after the last row-writing step: the synthetic rows too
    assert f"hub:{HUB_ID}" in (ws / "report.html").read_text(encoding="utf-8")
    # learning: the best node's validation interval lies above the base model's score
    low = best_result["validation"]["score"]["low"]
    assert low > base["val"], (best[2], low, base)
