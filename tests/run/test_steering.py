"""Steering: a pinned node is expanded next, a pruned subtree is never selected again, a note and a hypothesis reach
the researcher's memory and the LLM's prompt as the user's; the actions show in the report; a SIGKILL between an
action and its effect loses neither. Jobs are canned (``FakeScheduler``): no training."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from tests.agents.llm.test_llm_failures import _plan_json
from tests.fakes import FakeScheduler
from tests.llm.failing_server import Answer, failing_server
from trex.agents.heuristic.researcher import HeuristicResearcher
from trex.agents.llm.researcher import LLMResearcher
from trex.cli.app import app
from trex.llm.client import OpenAIClient
from trex.plan import Plan, PlanContext
from trex.report.html import render_report
from trex.run.loop import SearchLoop
from trex.run.options import RunOptions
from trex.run.steering import pending_pins, user_memory
from trex.search.policies import expandable
from trex.store import Store

ROOT = Path(__file__).resolve().parents[2]


class Recording(HeuristicResearcher):
    """The heuristic researcher, keeping the memory of every plan it was asked for."""

    def __init__(self, task) -> None:  # noqa: ANN001
        super().__init__(task)
        self.memories: list[str] = []

    def plan(self, context: PlanContext) -> Plan:
        self.memories.append(context.memory)
        return super().plan(context)


def grow(ws: Path, task, nodes: int, researcher=None) -> Store:  # noqa: ANN001
    store = Store(ws)
    options = RunOptions(iterations=nodes, parallel_nodes=1)
    SearchLoop(store, task, options, scheduler=FakeScheduler(gpus=1), researcher=researcher).run()
    return store


def steer(ws: Path, *args: str) -> None:
    out = CliRunner().invoke(app, ["steer", str(ws), *args])
    assert out.exit_code == 0, out.output


def parents(store: Store) -> dict[int, int | None]:
    return {n.id: n.parent for n in store.load_tree().nodes.values()}


def subtree(store: Store, top: int) -> set[int]:
    tree, out = store.load_tree(), {top}
    for node in sorted(tree.nodes.values(), key=lambda n: n.id):
        if node.parent in out:
            out.add(node.id)
    return out


def branch(tmp_path: Path, name: str) -> Path:
    return Path(shutil.copytree(tmp_path / "base", tmp_path / name))


def test_pin_expands_next_and_prune_is_never_selected(tmp_path: Path, tiny_task) -> None:
    base = grow(tmp_path / "base", tiny_task, 4)
    base.close()
    control = grow(branch(tmp_path, "control"), tiny_task, 7)
    chosen = parents(control)[5]  # what the policy expands next when nobody steers
    free = [n.id for n in expandable(Store(tmp_path / "base").load_tree(), tiny_task.limits.max_children)]
    pinned = next(n for n in free if n != chosen)

    pin_ws = branch(tmp_path, "pin")
    steer(pin_ws, "pin", str(pinned))
    assert parents(grow(pin_ws, tiny_task, 5))[5] == pinned
    store = Store(pin_ws)
    assert pending_pins(store.load_tree(), store) == []  # spent by its effect
    assert "expanded: node 5" in render_report(store)

    prune_ws = branch(tmp_path, "prune")
    steer(prune_ws, "prune", str(chosen))
    pruned = grow(prune_ws, tiny_task, 7)
    gone = subtree(pruned, chosen)
    assert all(parents(pruned)[n] not in gone for n in (5, 6, 7))
    assert any(parents(control)[n] in subtree(control, chosen) for n in (5, 6, 7))  # without it: selected


def test_notes_reach_the_memory_and_the_llm_prompt_as_the_users(tmp_path: Path, tiny_task) -> None:
    grow(tmp_path / "base", tiny_task, 2).close()
    ws = tmp_path / "base"
    steer(ws, "note", "2", "the loss curve of node 2 is flat: the learning rate is too low")
    steer(ws, "hypothesis", "longer reviews are the hard ones")
    prompts: list[str] = []

    def respond(body: dict) -> Answer:
        prompt = body["messages"][-1]["content"]
        prompts.append(prompt)
        if "Choose the strategy" in prompt:
            return Answer(text='{"strategy": "adjust_training", "rationale": "r"}')
        return Answer(text=_plan_json(tiny_task, int(re.search(r"exactly (\d+) configs", prompt).group(1))))

    with failing_server(respond) as (url, _):
        store = Store(ws)
        client = OpenAIClient("m", url, api_key_env="TREX_NO_SUCH_KEY", timeout_s=5.0, max_retries=0)
        options = RunOptions(iterations=3, researcher="llm", llm_model="m", parallel_nodes=1)
        SearchLoop(store, tiny_task, options, FakeScheduler(gpus=1), LLMResearcher(tiny_task, client, store)).run()
    strategy = next(p for p in prompts if "Choose the strategy" in p)
    assert "From the user" in strategy
    assert "note on node 2" in strategy and "the learning rate is too low" in strategy
    assert "hypothesis" in strategy and "longer reviews are the hard ones" in strategy
    page = render_report(store)
    assert "Steering timeline" in page and "longer reviews are the hard ones" in page


def test_bad_actions_exit_2(tmp_path: Path, tiny_task) -> None:
    grow(tmp_path / "ws", tiny_task, 1).close()
    for args in (["pin", "9"], ["note", "1", " "], ["jump", "1"], ["prune", "x"]):
        out = CliRunner().invoke(app, ["steer", str(tmp_path / "ws"), *args])
        assert out.exit_code == 2, (args, out.output)


RUN = """
import sys, time
from tests.fakes import FakeScheduler
from trex.run.loop import SearchLoop
from trex.run.options import RunOptions
from trex.run.workspace import hold_lock
from trex.store import Store
from trex.task.spec import load_task
ws = __import__("pathlib").Path(sys.argv[1])
hold_lock(ws)  # as `trex run` holds it: steering must not need it
task = load_task(sys.argv[2])
SearchLoop(Store(ws), task, RunOptions(iterations=6, parallel_nodes=1),
           scheduler=FakeScheduler(gpus=1, seconds=lambda job: 120.0)).run()
"""


def test_a_sigkill_between_action_and_effect_loses_neither(tmp_path: Path, tiny_task) -> None:
    grow(tmp_path / "base", tiny_task, 4).close()
    ws = tmp_path / "base"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    task = ROOT / "examples" / "tasks" / "tiny.yaml"
    run = subprocess.Popen([sys.executable, "-c", RUN, str(ws), str(task)], cwd=ROOT, env=env)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:  # node 5 stored: its jobs hang, the next selection is far away
            with sqlite3.connect(ws / "trex.db") as conn:
                if conn.execute("SELECT COUNT(*) FROM nodes").fetchone()[0] >= 5:
                    break
            time.sleep(0.5)
        store = Store(ws)
        tree = store.load_tree()
        assert len(tree) == 5, "the run did not start node 5"
        pinned = next(n.id for n in expandable(tree, tiny_task.limits.max_children) if n.id != tree.nodes[5].parent)
        steer(ws, "pin", str(pinned))  # while the run holds the workspace lock
        steer(ws, "note", "3", "keep the prompt as it is")
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()
    assert len(store.load_tree()) == 5  # killed before its next selection
    assert pending_pins(store.load_tree(), store) == [pinned]
    assert "keep the prompt as it is" in user_memory(store)
    researcher = Recording(tiny_task)
    resumed = grow(ws, tiny_task, 6, researcher=researcher)  # completes node 5, then selects
    assert parents(resumed)[6] == pinned
    assert "note on node 3" in researcher.memories[-1] and "keep the prompt as it is" in researcher.memories[-1]
