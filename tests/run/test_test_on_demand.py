"""The test split is scored only where it is shown: the base model, and the run's best node (issue 14, item 5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.mark.slow
def test_no_job_but_the_best_scores_the_test_split(tmp_path: Path, tiny_task) -> None:
    from trex.plan import BASELINE
    from trex.run.loop import SearchLoop
    from trex.run.options import RunOptions
    from trex.run.workspace import start_run
    from trex.runtime.local import LocalScheduler

    task_file = Path(__file__).resolve().parents[2] / "examples" / "tasks" / "tiny.yaml"
    options = RunOptions(iterations=2)
    store, tiny_task = start_run(tmp_path / "ws", tiny_task, task_file, options)
    summary = SearchLoop(store, tiny_task, options, scheduler=LocalScheduler(timeout_s=300, gpus=[])).run()
    tree = store.load_tree()
    best = tree.best()
    assert summary.best_node == best.id and summary.best_test is not None and summary.base_test is not None
    best_job = store.node_row(best.id)["best_job"]
    tested = {}
    for node_id in tree.nodes:
        for stored in store.jobs_of(node_id):
            tested[stored.hash] = (stored.name, stored.result.test is not None)
    scored = [e["data"]["hash"] for e in store.events("test_scored")]
    winners = {store.node_row(n)["best_job"] for n in tree.nodes}
    baseline = {h for h, (name, _) in tested.items() if name == BASELINE}
    # only the base model (the reference every report shows) and nodes' winners scored when they became the
    # run's best; the final best among them; every other job never touched the test split
    assert {h for h, (_, has) in tested.items() if has} == set(scored) | baseline
    assert best_job in scored and set(scored) <= winners and len(scored) == len(set(scored))
    assert len(tested) >= 5 and len(tested) - len(scored) - len(baseline) >= 2
    assert {n.id for n in tree.nodes.values() if n.test_score is not None} <= {
        n for n in tree.nodes if store.node_row(n)["best_job"] in scored
    }
    # the score came from the model the job saved, in a worker of its own
    result = json.loads((Path(store.job(best_job).workdir) / "test" / "result.json").read_text())
    assert result["test"]["score"]["value"] == pytest.approx(best.test_score)
    assert store.job(best_job).result.validation is not None  # the job's own result keeps its validation
    store.close()
