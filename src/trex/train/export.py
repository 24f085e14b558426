"""Export a tuned model in Hugging Face format: the base model with the job's LoRA adapter merged,
the adapter alone, or the full weights a full-SFT job saved; the tokenizer always goes along.

``export_model`` writes into ``out`` (created; refused if it exists and is not empty, so nothing is
overwritten by accident). The model card is written by the caller (``trex.report.card``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from trex.train.model import load_model


class ExportError(ValueError):
    """Nothing to export, or the target folder is in the way."""


def export_model(base_model: str, job_dir: Path | None, out: Path, merge: bool = True) -> str:
    """Write the model of a job (or the base model when ``job_dir`` is None); return what was written."""
    if out.exists() and any(out.iterdir()):
        raise ExportError(f"{out} exists and is not empty")
    out.mkdir(parents=True, exist_ok=True)
    adapter = job_dir / "adapter" if job_dir is not None else None
    full = job_dir / "model" if job_dir is not None else None
    if full is not None and full.exists():
        shutil.copytree(full, out, dirs_exist_ok=True)
        return "full fine-tuned weights"
    model, tokenizer = load_model(base_model, device="cpu")
    tokenizer.save_pretrained(out)
    if adapter is None:
        model.save_pretrained(out)
        return "base model (no training job won)"
    if not adapter.exists():
        raise ExportError(f"no adapter at {adapter}: was the job's folder removed?")
    if not merge:
        shutil.copytree(adapter, out, dirs_exist_ok=True)
        return "LoRA adapter"
    from peft import PeftModel

    PeftModel.from_pretrained(model, str(adapter)).merge_and_unload().save_pretrained(out)
    return "base model with the LoRA adapter merged"
