"""``start_run`` hands back the task as its jobs read it: a one-file task's splits are files in the workspace."""

from __future__ import annotations

from pathlib import Path

from tests.fakes import FakeScheduler
from trex.run.loop import SearchLoop
from trex.run.options import RunOptions
from trex.run.workspace import DATA_DIR, start_run
from trex.task.spec import load_task


def test_start_run_returns_the_prepared_task_that_the_loop_runs(tmp_path: Path) -> None:
    rows = "".join(f"{'fresh' if i % 2 else 'rotten'},review number {i}\n" for i in range(60))
    (tmp_path / "all.csv").write_text("label,text\n" + rows)
    (tmp_path / "t.yaml").write_text(
        "name: one-file\nobjective: o\nbase_model: embedded:tiny-qwen2\n"
        "eval:\n  split: {from: all.csv, validation: 10, test: 10}\n"
        '  prompt_template: "{text}"\n  choices: {fresh: " fresh", rotten: " rotten"}\n'
        "training: {max_steps: 4, max_length: 64}\n"
    )
    task = load_task(tmp_path / "t.yaml")
    assert not task.eval.validation and task.train_data is None  # the one-file split, not yet cut
    options = RunOptions(iterations=2, parallel_nodes=1)
    store, ready = start_run(tmp_path / "ws", task, tmp_path / "t.yaml", options)
    data = tmp_path / "ws" / DATA_DIR
    assert Path(ready.eval.validation) == data / "validation.jsonl" and Path(ready.eval.test) == data / "test.jsonl"
    assert (
        Path(ready.train_data) == data / "train.jsonl" and len((data / "train.jsonl").read_text().splitlines()) == 40
    )
    scheduler = FakeScheduler()
    SearchLoop(store, ready, options, scheduler=scheduler).run()
    jobs = [request.job for request in scheduler.requests]
    assert jobs and all(job.eval.validation == str(data / "validation.jsonl") for job in jobs)
    store.close()
