"""The executor guards every training recipe against the evaluation data, and the node says what it dropped."""

from __future__ import annotations

import json
from pathlib import Path

from trex.agents.heuristic.researcher import HeuristicResearcher
from trex.agents.verdict import diagnose_node
from trex.aidp.recipe import StepStats, run_recipe
from trex.evaluation.intervals import Score
from trex.evaluation.run import SplitResult
from trex.run.executor import default_job, plan_jobs
from trex.runtime.job import JobResult


def test_every_training_job_is_decontaminated_unless_turned_off(tiny_task) -> None:
    plan = HeuristicResearcher(tiny_task).root_plan()
    jobs = plan_jobs(tiny_task, plan, seed=0, with_baseline=True)
    for name, job in jobs[1:]:
        guard = job.recipe.steps[1]
        assert guard.op == "decontaminate", name
        assert guard.args["against"] == [tiny_task.eval.validation, tiny_task.eval.test]
    off = tiny_task.model_copy(update={"decontaminate": False})
    assert all(s.op != "decontaminate" for _, job in plan_jobs(off, plan, 0, False) for s in job.recipe.steps)


def test_the_benchmarks_default_job_is_the_roots_first_config(tiny_task) -> None:
    (_, first), *_ = plan_jobs(
        tiny_task, HeuristicResearcher(tiny_task, seed=3).root_plan(), seed=3, with_baseline=False
    )
    assert default_job(tiny_task, seed=3).content_hash() == first.content_hash()  # decontaminated, same sample
    other = tiny_task.training.model_copy(update={"learning_rate": 0.01})
    balanced = default_job(tiny_task, seed=3, train=other, balanced=True)
    assert balanced.train == other and balanced.content_hash() != first.content_hash()
    assert any(s.args.get("stratify_by") for s in balanced.recipe.steps)


def test_training_rows_copied_from_the_test_split_are_dropped(tiny_task, tmp_path: Path) -> None:
    from trex.assets import resolve_data

    test_rows = [json.loads(line) for line in Path(resolve_data(tiny_task.eval.test)).read_text().splitlines()]
    train_rows = [json.loads(line) for line in Path(resolve_data(tiny_task.train_data)).read_text().splitlines()]
    leaked = [r for r in test_rows if len(r["text"].split()) >= 8][:3]
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in train_rows + leaked))
    task = tiny_task.model_copy(update={"train_data": str(path)})
    (_, job), *_ = plan_jobs(task, HeuristicResearcher(task).root_plan(), seed=0, with_baseline=False)
    _, stats = run_recipe(job.recipe)
    guard = stats[1]
    assert guard.op == "decontaminate" and guard.dropped >= 3 and guard.reason.startswith("shares an n-gram")


def test_insights_report_decontamination() -> None:
    score = Score(value=0.7, low=0.6, high=0.8, n=10)
    result = JobResult(
        job_hash="h",
        status="ok",
        validation=SplitResult(split="validation", score=score),
        data_stats=[
            StepStats(step=1, op="load_local_dataset", rows_in=0, rows_out=100, seconds=0.1),
            StepStats(step=2, op="decontaminate", rows_in=100, rows_out=97, seconds=0.1, dropped=3, reason="x"),
        ],
    )
    verdict = diagnose_node([("cfg", result)], None, None)
    assert "decontamination dropped 3 of 100 training rows" in verdict.insights
