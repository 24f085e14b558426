"""Terminal progress: jobs report their steps through progress.json, and the view reads running jobs from the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from datasets import Dataset
from rich.console import Console

from trex.report.progress import RunProgress, running_jobs
from trex.run.executor import job_workdir
from trex.store import Store
from trex.train.config import TrainConfig


@pytest.mark.slow
def test_training_leaves_its_progress(tmp_path: Path, tiny_model) -> None:
    from trex.train.model import load_model
    from trex.train.sft import train_sft

    model, tokenizer = load_model("embedded:tiny-qwen2", device="cpu")
    rows = Dataset.from_list([{"prompt": f"Q{i}:", "completion": " a"} for i in range(8)])
    train_sft(model, tokenizer, rows, TrainConfig(max_steps=3, batch_size=4, max_length=16), tmp_path, seed=0)
    progress = json.loads((tmp_path / "progress.json").read_text())
    assert progress["step"] == progress["total"] == 3 and progress["elapsed_s"] > 0


def test_running_jobs_and_the_progress_view(tmp_path: Path) -> None:
    store = Store(tmp_path)
    plan = json.dumps({"strategy": "refine_data", "change": "c", "rationale": "r"})
    node = store.add_node(None, 0, "establish_baseline", plan, [("h1", "{}", "lr-a"), ("h2", "{}", "lr-b")])
    store.finish_job("h1", "ok", json.dumps({"status": "ok"}), "w")
    folder = job_workdir(tmp_path, node, "h2")
    folder.mkdir(parents=True)
    (folder / "progress.json").write_text(json.dumps({"step": 12, "total": 40, "elapsed_s": 6.0}))
    assert running_jobs(store) == [{"node": node, "name": "lr-b", "step": 12, "total": 40}]
    console = Console(record=True, width=120, force_terminal=True)
    with RunProgress(tmp_path, target=4, console=console) as view:
        view.refresh()
        task = view.progress.tasks[view.jobs["node 1 lr-b"]]
        assert (task.completed, task.total) == (12, 40)
        view.say("node 1: done")
    text = console.export_text()
    assert "node 1 lr-b" in text and "12/40" in text and "node 1: done" in text
    store.close()
