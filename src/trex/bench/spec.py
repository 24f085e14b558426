"""An FT-Bench task file: where the data live, how rows become trex rows, and the paper's scores.

Each task under ``trex/bench/tasks/`` is a YAML ``BenchTask``: the paper's reference and base
scores (Table 3: Qwen3-235B-2507 and Qwen3-1.7B), split sizes, a ``Source`` (Hugging Face Hub
dataset or files in a GitHub repository, with a split expression per trex split; Hugging Face's
slicing syntax such as ``test[:50%]`` is allowed), the name of a preparer in
``trex.bench.prepare`` that turns source rows into ``input``/``label`` (and ``group``) rows, and
the body of a trex task file (``task``) whose data paths the runner fills in. ``notes`` say where
a source is not public or a metric's definition was ambiguous, and what was chosen.
"""

from __future__ import annotations

from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

SplitName = Literal["train", "validation", "test"]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SplitSource(StrictModel):
    split: str = Field(default="train", description="split expression, e.g. 'test' or 'test[:50%]'")
    id: str | None = Field(default=None, description="another dataset id or repository than the source's")
    config: str | None = None
    configs: list[str] | None = Field(default=None, description="load each of these configs; rows get it as group")
    files: dict[str, str] | None = Field(
        default=None, description="group name -> file path in the repository; each row gets its group"
    )
    field: str | None = Field(default=None, description="JSON key holding the rows, when a file is an object")


class Source(StrictModel):
    kind: Literal["hub", "github"]
    id: str = Field(description="Hugging Face dataset id, or GitHub owner/repo")
    revision: str = "main"
    config: str | None = None
    url: str = Field(description="the page a person reads about the data")
    splits: dict[SplitName, SplitSource]


class BenchTask(StrictModel):
    name: str = Field(pattern=r"^[a-z0-9-]+$")
    title: str
    domain: str
    metric: str = Field(description="the paper's metric name, as shown in tables")
    reference_score: float = Field(description="Table 3: Qwen3-235B-2507")
    base_score: float = Field(description="Table 3: Qwen3-1.7B")
    sizes: dict[SplitName, int] = Field(description="split sizes used by the paper (or our closest choice)")
    source: Source
    prepare: str = Field(description="function name in trex.bench.prepare")
    prepare_args: dict[str, Any] = {}
    split_args: dict[SplitName, dict[str, Any]] = Field(default={}, description="prepare_args changed for one split")
    extras: list[str] = Field(default=[], description="pip extras the metric needs, e.g. chem (RDKit)")
    notes: str = ""
    task: dict[str, Any] = Field(description="a trex task file body without data paths")


TASKS_PACKAGE = "trex.bench.tasks"
FIXTURES_PACKAGE = "trex.bench.fixtures"


def task_names() -> list[str]:
    files = resources.files(TASKS_PACKAGE).iterdir()
    return sorted(f.name.removesuffix(".yaml") for f in files if f.name.endswith(".yaml"))


def load_bench_task(name: str) -> BenchTask:
    names = task_names()
    if name not in names:
        raise ValueError(f"unknown FT-Bench task {name!r}: one of {', '.join(names)}")
    text = resources.files(TASKS_PACKAGE).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    return BenchTask.model_validate(yaml.safe_load(text))


def load_fixture(name: str) -> dict[str, list[dict[str, Any]]]:
    """The small hand-written slice of a task's source rows (by trex split) used offline and in tests."""
    text = resources.files(FIXTURES_PACKAGE).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)
