"""A node whose general-ability drift passes max_drop is flagged in ``trex status --json``, the researcher's
memory and the report, and with ``regression: {selection: gate}`` never becomes the run's best; the default only
reports.

No training: a FakeScheduler whose canned results carry a general figure. The base-model job's perplexity is 10; a
trained job's is 10 when its validation score is below ``BAD``, 13 (+30%, past the default 10%) from ``BAD`` up,
so the nodes that would win are the ones that lost general ability.
"""

from __future__ import annotations

import math
from pathlib import Path

from tests.conftest import TINY_TASK
from tests.fakes import FakeScheduler
from trex.evaluation.config import RegressionConfig
from trex.evaluation.drift import general_score
from trex.report.html import render_report
from trex.report.status import run_status
from trex.run.loop import SearchLoop
from trex.run.options import RunOptions
from trex.run.workspace import start_run
from trex.runtime.job import JobRequest, JobResult
from trex.search.memory import memory_context

BAD = 0.7


class DriftingScheduler(FakeScheduler):
    def execute(self, request: JobRequest, deadline: float | None) -> JobResult:
        result = super().execute(request, deadline)
        if result.status != "ok" or request.regression is None or request.test_only:
            return result
        cfg = request.regression
        perplexity = 13.0 if request.job.train is not None and (result.val_score or 0) >= BAD else 10.0
        tokens = [20 + i % 5 for i in range(24)]
        losses = [t * math.log(perplexity) * (1 + (i % 3 - 1) * 0.01) for i, t in enumerate(tokens)]
        general = general_score("perplexity", losses, tokens, cfg.threshold, cfg.selection == "gate", seconds=0.5)
        return result.model_copy(update={"general": general})


def _run(tiny_task, workspace: Path, regression: RegressionConfig | None):
    options = RunOptions(iterations=6, parallel_nodes=1)
    task = tiny_task.model_copy(update={"regression": regression})
    store, task = start_run(workspace, task, TINY_TASK, options)
    summary = SearchLoop(store, task, options, scheduler=DriftingScheduler()).run()
    return store, summary


def test_by_default_a_drifting_node_is_flagged_but_may_still_be_the_best(tiny_task, tmp_path: Path):
    store, summary = _run(tiny_task, tmp_path / "ws", None)
    status = run_status(store)
    scored = [n for n in status["nodes"] if n["val_score"] is not None]
    assert scored and all(n["drift"] is not None for n in scored)
    flagged = {n["id"] for n in scored if n["drift"]["flagged"]}
    assert flagged == {n["id"] for n in scored if n["val_score"] >= BAD} and flagged  # some node drifted
    drift = next(n["drift"] for n in scored if n["id"] in flagged)
    assert set(drift) >= {"metric", "base", "value", "ci", "flagged"} and drift["metric"] == "perplexity"
    assert drift["base"] == 10.0 or abs(drift["base"] - 10.0) < 0.1
    assert drift["ci"][0] <= drift["value"] <= drift["ci"][1] and drift["change"] > 0.1 and not drift["gate"]
    best = max(scored, key=lambda n: (n["val_score"], -n["id"]))
    assert summary.best_node == status["best"]["id"] == best["id"] and best["id"] in flagged  # report only
    memory = memory_context(store.load_tree(), max(n["id"] for n in scored), 4000)
    assert "general drift: perplexity" in memory and "flagged past 10% rise" in memory
    report = render_report(store)
    assert "General-ability drift" in report and "<b>flagged</b>" in report and "general drift past max_drop" in report
    store.close()


def test_with_selection_gate_a_drifting_node_never_becomes_the_runs_best(tiny_task, tmp_path: Path):
    store, summary = _run(tiny_task, tmp_path / "ws", RegressionConfig(selection="gate"))
    status = run_status(store)
    scored = [n for n in status["nodes"] if n["val_score"] is not None]
    flagged = {n["id"] for n in scored if n["drift"]["flagged"]}
    kept = [n for n in scored if n["id"] not in flagged]
    assert flagged and kept and all(n["drift"]["gate"] for n in scored)
    assert max(n["val_score"] for n in scored) >= BAD  # a flagged node scored higher than any kept one
    best = max(kept, key=lambda n: (n["val_score"], -n["id"]))
    assert summary.best_node == status["best"]["id"] == best["id"] and best["id"] not in flagged
    assert summary.best_val == best["val_score"] < max(n["val_score"] for n in scored)
    memory = memory_context(store.load_tree(), min(flagged), 4000)  # the flagged node is on its own path
    assert "kept from the run's best" in memory
    store.close()
