"""Shared fixtures: an isolated asset cache, the tiny task, and a tiny model loaded once."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY_TASK = ROOT / "examples" / "tasks" / "tiny.yaml"


@pytest.fixture(scope="session", autouse=True)
def asset_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every test session builds its embedded assets in its own cache (subprocesses inherit it)."""
    cache = tmp_path_factory.mktemp("trex-cache")
    os.environ["TREX_CACHE"] = str(cache)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    yield cache
    shutil.rmtree(cache, ignore_errors=True)


@pytest.fixture(scope="session")
def tiny_task():
    from trex.task import load_task

    return load_task(TINY_TASK)


@pytest.fixture(scope="session")
def tiny_model():
    from trex.train.model import load_model

    return load_model("embedded:tiny-qwen2", device="cpu")
