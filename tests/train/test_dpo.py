"""DPO (LoRA and full) and epochs on the tiny model; a DPO Job through the real worker; QLoRA's guards."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from datasets import Dataset
from pydantic import ValidationError

from trex.train.config import TrainConfig


def _preferences(n: int = 24) -> Dataset:
    rows = []
    for i in range(n):
        good = i % 2 == 0
        rows.append(
            {
                "prompt": f"Review: {'a lovely film' if good else 'a dull film'} number {i}\nAnswer:",
                "chosen": " fresh" if good else " rotten",
                "rejected": " rotten" if good else " fresh",
            }
        )
    return Dataset.from_list(rows)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["lora_dpo", "full_dpo"])
def test_dpo_trains_and_saves(method: str, tmp_path: Path) -> None:
    from trex.train.dpo import train_dpo
    from trex.train.model import load_model

    model, tokenizer = load_model("embedded:tiny-qwen2", device="cpu")
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    cfg = TrainConfig(method=method, max_steps=3, batch_size=4, max_length=48, learning_rate=1e-3)
    trained, log = train_dpo(model, tokenizer, _preferences(), cfg, tmp_path, seed=0)
    assert log.steps == 3 and log.train_rows == 24 and log.losses and all(math.isfinite(v) for _, v in log.losses)
    assert (tmp_path / ("adapter" if method == "lora_dpo" else "model")).exists()
    changed = any(not p.detach().equal(before[n]) for n, p in trained.named_parameters() if n in before)
    assert changed  # the merged (or fully trained) weights moved


def test_dpo_needs_preference_columns(tmp_path: Path) -> None:
    from trex.train.dpo import train_dpo
    from trex.train.model import load_model

    model, tokenizer = load_model("embedded:tiny-qwen2", device="cpu")
    with pytest.raises(ValueError, match=r"missing \['chosen', 'rejected'\]"):
        train_dpo(model, tokenizer, Dataset.from_list([{"prompt": "x"}]), TrainConfig(method="lora_dpo"), tmp_path, 0)


@pytest.mark.slow
def test_epochs_replace_max_steps(tmp_path: Path) -> None:
    from trex.train.model import load_model
    from trex.train.sft import train_sft

    model, tokenizer = load_model("embedded:tiny-qwen2", device="cpu")
    rows = Dataset.from_list([{"prompt": f"Q{i}:", "completion": " a"} for i in range(20)])
    _, log = train_sft(model, tokenizer, rows, TrainConfig(epochs=1, batch_size=8, max_length=16), tmp_path, seed=0)
    assert log.steps == 3  # ceil(20 / 8)


def test_qlora_guards() -> None:
    from trex.train.model import load_model

    with pytest.raises(ValidationError, match="trains LoRA adapters"):
        TrainConfig(method="full_sft", quantization="4bit")
    with pytest.raises(ValueError, match="needs a CUDA GPU"):
        load_model("embedded:tiny-qwen2", device="cpu", quantization="4bit")


@pytest.mark.slow
def test_a_dpo_job_runs_in_the_worker(tiny_task, tmp_path: Path) -> None:
    from trex.aidp.recipe import Recipe, Step
    from trex.runtime.base import run_worker
    from trex.runtime.job import Job, JobRequest

    data = tmp_path / "prefs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in _preferences()))
    job = Job(
        base_model=tiny_task.base_model,
        recipe=Recipe(steps=[Step(op="load_local_dataset", args={"path": str(data)})]),
        train=TrainConfig(method="lora_dpo", max_steps=2, batch_size=4, max_length=48),
        eval=tiny_task.eval,
        max_train_samples=10,
    )
    result = run_worker(JobRequest(job=job, workdir=str(tmp_path / "j")), gpu=None, timeout_s=300)
    assert result.status == "ok", result.error
    assert result.train.train_rows == 10 and result.val_score is not None  # the sample cap held
    assert (tmp_path / "j" / "adapter" / "adapter_config.json").exists()
