"""Failed configs are repaired: the heuristic rules by hand, and a repair round inside a real tiny run."""

from __future__ import annotations

from pathlib import Path

import pytest

from trex.agents.heuristic.researcher import HeuristicResearcher, base_recipe
from trex.agents.repair import repair_config
from trex.plan import ConfigSpec, Plan
from trex.train.config import TrainConfig


def _plan(tiny_task, config: ConfigSpec) -> Plan:
    return Plan(
        strategy="refine_data", rationale="r", change="c", recipe=base_recipe(tiny_task, 32, 0), configs=[config]
    )


def test_repair_rules(tiny_task) -> None:
    config = ConfigSpec(name="a", train=TrainConfig(batch_size=8, max_steps=40, learning_rate=1e-3))
    plan = _plan(tiny_task, config)
    fixed, change = repair_config(plan, config, "oom", "CUDA out of memory")
    assert (fixed.train.batch_size, fixed.train.gradient_accumulation_steps, fixed.train.gradient_checkpointing) == (
        4,
        2,
        True,
    )
    assert "out of memory" in change
    assert repair_config(plan, config, "timeout", "timed out after 60 s")[0].train.max_steps == 20
    assert repair_config(plan, config, "exception", "loss is nan at step 3")[0].train.learning_rate == pytest.approx(
        1e-4
    )
    bad = plan.recipe.with_step("select_by_score", column="quality", top_k=3)
    broken = config.model_copy(update={"recipe": bad})
    number = len(bad.steps)
    message = f"step {number} (select_by_score): column(s) ['quality'] not in the data at this step"
    repaired, change = repair_config(plan, broken, "exception", message)
    assert [s.op for s in repaired.recipe.steps] == [s.op for s in plan.recipe.steps] and "dropped" in change
    assert repair_config(plan, config, "exception", "something nobody understands") is None
    assert (
        repair_config(
            plan, config.model_copy(update={"train": config.train.model_copy(update={"batch_size": 1})}), "oom", ""
        )
        is None
    )


class _BrokenFirst(HeuristicResearcher):
    """A researcher whose root plan reads a column the data lacks: the repair round must fix it."""

    def _root_plan(self) -> Plan:
        plan = super()._root_plan()
        bad = plan.recipe.with_step("select_by_score", column="quality", top_k=50)
        config = plan.configs[0].model_copy(update={"name": "broken", "recipe": bad})
        return plan.model_copy(update={"configs": [config]})


def _quality_missing(job) -> str | None:
    """The worker's message for a recipe that reads a column the data lacks (what the real run writes)."""
    steps = job.recipe.steps if job.recipe else []
    for number, step in enumerate(steps, 1):
        if step.op == "select_by_score" and step.args.get("column") == "quality":
            return f"RecipeError: step {number} (select_by_score): column(s) ['quality'] not in the data at this step"
    return None


def test_a_failed_config_is_repaired_in_the_run(tiny_task, tmp_path: Path) -> None:
    from tests.fakes import FakeScheduler, default_score
    from trex.run.loop import SearchLoop
    from trex.run.options import RunOptions
    from trex.run.workspace import start_run

    task = tiny_task.model_copy(update={"limits": tiny_task.limits.model_copy(update={"configs_per_plan": 1})})
    task_file = Path(__file__).resolve().parents[2] / "examples" / "tasks" / "tiny.yaml"
    options = RunOptions(iterations=1)
    store, task = start_run(tmp_path / "ws", task, task_file, options)
    scheduler = FakeScheduler(
        score=lambda job: None if _quality_missing(job) else default_score(job),
        error=lambda job: _quality_missing(job) or "",
    )
    loop = SearchLoop(store, task, options, scheduler=scheduler, researcher=_BrokenFirst(task))
    summary = loop.run()
    names = [r["name"] for r in store.node_jobs(1)]
    assert names == ["base-model", "broken", "broken~repair1"]
    statuses = {r["name"]: r["status"] for r in store.node_jobs(1)}
    assert statuses["broken"] == "failed" and statuses["broken~repair1"] == "ok"
    (event,) = store.events("repair")
    assert event["data"]["repairs"][0]["repaired_as"] == "broken~repair1"
    assert "select_by_score" in event["data"]["repairs"][0]["change"]
    assert summary.best_val is not None and store.load_tree().nodes[1].status == "done"
    assert len({run[0] for run in scheduler.runs}) == len(scheduler.runs) == 3  # each job once
    assert scheduler.test_runs == [store.node_row(1)["best_job"]]  # the test split: only the best's
    store.close()
