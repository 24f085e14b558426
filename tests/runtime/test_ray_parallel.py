"""A real tiny parallel search through Ray with 4 logical GPUs: every job records its GPU, none shared at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trex.runtime.base import RUNNING_FILE

pytestmark = pytest.mark.slow


def test_parallel_search_on_ray_gives_each_job_its_own_gpu(tiny_task, tmp_path: Path, monkeypatch) -> None:
    ray = pytest.importorskip("ray")
    from trex.run.loop import SearchLoop
    from trex.run.options import RunOptions
    from trex.runtime.ray import RayScheduler
    from trex.store import Store

    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # four workers share two cores
    store = Store(tmp_path / "ws")
    try:
        scheduler = RayScheduler(timeout_s=600, num_cpus=4, num_gpus=4, include_dashboard=False)
        scheduler.check_workspace(store.workspace)  # a local Ray sees the workspace
        loop = SearchLoop(store, tiny_task, RunOptions(iterations=4), scheduler=scheduler)
        assert scheduler.slots == 4 and loop.parallel_nodes == 2  # ceil(4 slots / 2 configs)
        summary = loop.run()
    finally:
        ray.shutdown()
    assert summary.nodes == 4 and summary.stopped_by == "iterations"
    intervals: dict[str, list[tuple[float, float]]] = {}
    rows = [r for n in store.load_tree().nodes for r in store.node_jobs(n)]
    for row in rows:
        result = json.loads(row["result"])
        assert result["gpu_ids"] in {"0", "1", "2", "3"} and result["gpus"] == 1, result.get("error")
        started = json.loads((Path(row["workdir"]) / RUNNING_FILE).read_text())
        assert started["gpu"] == result["gpu_ids"]
        intervals.setdefault(result["gpu_ids"], []).append(
            (started["started"], started["started"] + result["seconds"])
        )
    for spans in intervals.values():
        spans.sort()
        assert all(a[1] <= b[0] + 0.05 for a, b in zip(spans, spans[1:], strict=False)), "a GPU held two jobs at once"
    assert len(intervals) >= 2  # the jobs spread over the GPUs
    assert any(e["data"]["pending"] for e in store.events("selection"))  # a node was planned while one ran
    store.close()


def test_the_workspace_probe_reports_a_missing_marker(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    from trex.runtime.ray import _sees

    (tmp_path / "marker").write_text("x")
    assert _sees(str(tmp_path / "marker"))[1] and not _sees(str(tmp_path / "elsewhere"))[1]
