"""A run whose validation file or metric module changes while it runs: the jobs that score after the change fail with
the cause "evaluation changed", their node is not the best; ``trex verify`` names the change and checks the export."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.evaluation.test_integrity import local_task
from trex.cli.app import app
from trex.run.loop import SearchLoop
from trex.run.options import RunOptions
from trex.run.workspace import open_run
from trex.search.tree import DONE, FAILED


def trex(*args: str):  # noqa: ANN201
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.slow
@pytest.mark.parametrize("changed", ["data/val.csv", "custom_metric.py"])
def test_a_change_mid_run_fails_later_jobs_and_verify_names_it(tmp_path: Path, changed: str) -> None:
    task, path = local_task(tmp_path / "task")
    options = RunOptions(iterations=2, seed=0)
    store, prepared = open_run(tmp_path / "ws", task, path, options)
    target = tmp_path / "task" / changed
    original = target.read_bytes()

    def tamper() -> None:  # after the root finished: the next node's jobs score after the change
        target.write_bytes(original + b"\n# changed after the run's start\n")

    SearchLoop(store, prepared, options).run(on_iteration=tamper)
    tree = store.load_tree()
    root, child = tree.nodes[1], tree.nodes[2]
    assert root.status == DONE and root.val_score is not None
    assert child.status == FAILED and child.val_score is None
    results = [s.result for s in store.jobs_of(child.id)]
    assert results and all(r is not None and r.error_class == "evaluation_changed" for r in results)
    assert all("evaluation changed" in (r.error or "") and target.name in (r.error or "") for r in results)
    assert all(r.validation is None for r in results)
    assert tree.best() is not None and tree.best().id == root.id
    assert all(s.result.evaluation_check for s in store.jobs_of(root.id))  # recorded what it checked

    changed_run = trex("verify", tmp_path / "ws")
    assert changed_run.exit_code == 1 and f"{target.name}: content differs" in changed_run.output

    target.write_bytes(original)  # the same bytes again: nothing differs
    out = tmp_path / "export"
    assert trex("export", tmp_path / "ws", "--out", out).exit_code == 0
    intact = trex("verify", tmp_path / "ws")
    assert intact.exit_code == 0, intact.output
    assert "base model is the task's, embedded:tiny-qwen2" in intact.output

    exported = next(p for p in out.iterdir() if p.suffix == ".safetensors")
    exported.write_bytes(exported.read_bytes()[:-1] + b"\0")
    tampered = trex("verify", tmp_path / "ws")
    assert tampered.exit_code == 1 and f"{exported.name}: content differs" in tampered.output
