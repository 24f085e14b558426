"""What the run records of its base model: hashed once (cached by path, mtime and size), re-hashed by
``trex verify`` without the cache, which names a changed weight file and exits 1."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

import trex.run.integrity as integrity
from tests.evaluation.test_integrity import local_task
from trex.cli.app import app
from trex.run.integrity import hash_model, record_integrity
from trex.store import Store


def fake_model(folder: Path) -> Path:
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "qwen2"}', encoding="utf-8")
    (folder / "model.safetensors").write_bytes(b"\x01" * 4096)
    (folder / "notes.txt").write_text("not a weight file", encoding="utf-8")
    return folder


def test_weights_are_hashed_once(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    model = fake_model(tmp_path / "model")
    reads: list[str] = []
    real = integrity.sha256_file
    monkeypatch.setattr(integrity, "sha256_file", lambda path: reads.append(Path(path).name) or real(path))
    first = hash_model(str(model))
    assert sorted(Path(p).name for p in first["files"]) == ["config.json", "model.safetensors"]
    assert hash_model(str(model)) == first and sorted(reads) == ["config.json", "model.safetensors"]  # cached
    (model / "model.safetensors").write_bytes(b"\x02" * 4097)  # another size: hashed again
    assert hash_model(str(model))["files"] != first["files"] and reads.count("model.safetensors") == 2


def test_verify_names_a_changed_base_model(tmp_path: Path) -> None:
    task, _ = local_task(tmp_path / "task")
    model = fake_model(tmp_path / "model")
    store = Store(tmp_path / "ws")
    record_integrity(store, task.model_copy(update={"base_model": str(model)}))
    intact = CliRunner().invoke(app, ["verify", str(tmp_path / "ws")])
    assert intact.exit_code == 0, intact.output
    assert "metric code:" in intact.output and "val.csv" in intact.output and "2 file(s)" in intact.output
    (model / "model.safetensors").write_bytes(b"\x01" * 4095 + b"\x00")
    changed = CliRunner().invoke(app, ["verify", str(tmp_path / "ws")])
    assert (
        changed.exit_code == 1
        and "base model:" in changed.output
        and "model.safetensors: content differs" in changed.output
    )
    assert CliRunner().invoke(app, ["verify", str(tmp_path / "nothing")]).exit_code == 2
