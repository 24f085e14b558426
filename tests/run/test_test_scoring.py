"""A failed test scoring of the best node costs one worker, not one after every settled node: it is recorded once
with its cause (event ``test_failed``), and a new session (``trex resume``) tries it again."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import TINY_TASK
from tests.fakes import FakeScheduler
from trex.run.loop import SearchLoop
from trex.run.options import RunOptions
from trex.run.workspace import start_run
from trex.runtime.job import JobRequest, JobResult


class FailingTestScoring(FakeScheduler):
    """Every job runs as canned; every on-demand test scoring fails (a full disk, say)."""

    def execute(self, request: JobRequest, deadline: float | None) -> JobResult:
        if request.test_only:
            self.test_runs.append(request.job.content_hash())
            return JobResult.failure(request.job.content_hash(), "OSError: no space left on device", "exception")
        return super().execute(request, deadline)


def test_a_failed_test_scoring_is_recorded_once_and_retried_by_a_new_session(tiny_task, tmp_path: Path) -> None:
    options = RunOptions(iterations=4, parallel_nodes=1)
    store, tiny_task = start_run(tmp_path / "ws", tiny_task, TINY_TASK, options)
    scheduler = FailingTestScoring()
    said: list[str] = []
    summary = SearchLoop(store, tiny_task, options, scheduler=scheduler, listener=said.append).run()
    assert summary.nodes == 4 and summary.best_test is None
    failed = store.events("test_failed")
    assert len(scheduler.test_runs) == len(failed) == len(set(scheduler.test_runs))  # once per job, never again
    assert all("no space left on device" in e["data"]["error"] for e in failed)
    assert sum("scoring its test split" in line for line in said) == len(failed)
    best_job = store.node_row(summary.best_node)["best_job"]
    assert best_job in scheduler.test_runs
    again = FakeScheduler()  # the next session (trex resume) tries the best node's test split again
    SearchLoop(store, tiny_task, options, scheduler=again)._score_best_test()
    assert again.test_runs == [best_job]
    assert store.load_tree().nodes[summary.best_node].test_score is not None
    store.close()
