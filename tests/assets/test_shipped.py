"""The real data shipped inside trex: every split resolves offline, with the fields and sizes its task expects."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from trex.assets import AssetError, resolve_data
from trex.task.spec import load_task

ROOT = Path(__file__).resolve().parents[2]
SIZES = {"goemotions": (39_555, 300, 300), "e2e_nlg": (4_672, 100, 200)}


def rows(ref: str) -> list[dict]:
    return [json.loads(line) for line in Path(resolve_data(ref)).read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("name", sorted(SIZES))
def test_every_split_resolves_with_its_size_and_fields(name: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TREX_CACHE", str(tmp_path))
    task = load_task(ROOT / "examples" / "tasks" / f"{name}.yaml")
    fields = {task.eval.input_field, task.eval.label_field}
    for split, size in zip(("train", "validation", "test"), SIZES[name], strict=True):
        found = rows(f"embedded:{name}/{split}")
        assert len(found) == size and all(fields <= set(row) for row in found)
        assert str(tmp_path) in resolve_data(f"embedded:{name}/{split}")  # unpacked into the cache, once


def test_goemotions_keeps_its_seven_imbalanced_labels(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TREX_CACHE", str(tmp_path))
    task = load_task(ROOT / "examples" / "tasks" / "goemotions.yaml")
    counts = Counter(row["label"] for row in rows("embedded:goemotions/validation"))
    assert set(counts) == set(task.eval.choices or {}) and counts["joy"] > 10 * counts["fear"]


def test_e2e_validation_and_test_share_no_attribute_set_with_training(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TREX_CACHE", str(tmp_path))
    train = {row["mr"] for row in rows("embedded:e2e_nlg/train")}
    held = [row["mr"] for split in ("validation", "test") for row in rows(f"embedded:e2e_nlg/{split}")]
    assert not train & set(held) and len(set(held)) == len(held)


def test_an_unknown_split_is_refused() -> None:
    with pytest.raises(AssetError, match="needs a split"):
        resolve_data("embedded:goemotions/dev")
