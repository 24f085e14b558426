"""A seeded CPU job is repeatable: the same Job run twice gives bit-identical losses and scores."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.slow
def test_two_identical_tiny_jobs_give_identical_results(tiny_task, tmp_path: Path) -> None:
    from trex.agents.heuristic.researcher import HeuristicResearcher
    from trex.run.executor import plan_jobs
    from trex.runtime.job import JobRequest, JobResult
    from trex.runtime.local import LocalScheduler

    plan = HeuristicResearcher(tiny_task).root_plan()
    plan = plan.model_copy(update={"configs": plan.configs[:1]})
    ((_, job),) = plan_jobs(tiny_task, plan, seed=3, with_baseline=False)
    results: list[JobResult] = []
    for run in ("a", "b"):
        request = JobRequest(job=job, workdir=str(tmp_path / run), score_test=True)
        LocalScheduler(timeout_s=600, gpus=[]).run([request], lambda _, result: results.append(result))
    first, second = results
    assert first.status == second.status == "ok", (first.error, second.error)
    assert first.train.losses == second.train.losses  # exact float equality, step by step
    assert first.validation.score == second.validation.score and first.test.score == second.test.score
    assert (tmp_path / "a" / "badcases.jsonl").read_bytes() == (tmp_path / "b" / "badcases.jsonl").read_bytes()


def test_building_the_tiny_model_leaves_the_callers_random_state_alone(tmp_path: Path, monkeypatch) -> None:
    """A job that builds the embedded model's cache trains as one that finds it: the build seeds its own generator.
    (It once reset the global one after the worker had seeded it, so the first job on a fresh cache drew other
    initial LoRA weights.)"""
    import torch

    from trex.assets import resolve_model

    monkeypatch.setenv("TREX_CACHE", str(tmp_path))
    torch.manual_seed(123)
    state = torch.get_rng_state()
    assert (Path(resolve_model("embedded:tiny-qwen2")) / "config.json").exists()
    assert torch.equal(torch.get_rng_state(), state)
