"""Shared fixtures: an isolated asset cache, the tiny task, and a tiny model loaded once."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY_TASK = ROOT / "examples" / "tasks" / "tiny.yaml"

# `make test` runs the suite on every core (pytest-xdist): one torch thread per process, which the workers' and
# the jobs' subprocesses inherit, so two test processes never oversubscribe the cores (see FACTS: 2 threads each
# in two processes made a step 20x slower). The tiny models of the tests are no faster with more threads.
os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The ``slow`` tests first (in their usual order), then the rest: run in parallel, the long tests start at
    once and the short ones fill the gaps at the end, instead of one long test running alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


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
    from trex.task.spec import load_task

    return load_task(TINY_TASK)


@pytest.fixture(scope="session")
def tiny_model():
    from trex.train.model import load_model

    return load_model("embedded:tiny-qwen2", device="cpu")
