"""An FT-Bench task file: where the data live, how rows become trex rows, and the paper's scores.

Each task under ``trex/bench/tasks/`` is a YAML ``BenchTask``: the paper's reference and base
scores (Table 3: Qwen3-235B-2507 and Qwen3-1.7B), split sizes, a ``Source`` (Hugging Face Hub
dataset or files in a GitHub repository, with a split expression per trex split; Hugging Face's
slicing syntax such as ``test[:50%]`` is allowed), the name of a preparer in
``trex.bench.prepare`` that turns source rows into ``input``/``label`` (and ``group``) rows, and
the body of a trex task file (``task``) whose data paths the runner fills in. ``notes`` say where
a source is not public or a metric's definition was ambiguous, and what was chosen.

A task whose source names no ``train`` split gives the agent no training data, as the paper's CS-Bench and GTA
do: its task file has no ``train_data``, and only the LLM researcher can run it (it builds a training set).

``local`` says how to read a local copy of the source (``--source-dir``): the files of the source
repository (or of a public copy of a Hub dataset) in that repository's own layout. ``checked``
records what the preparer produced on the real files of one commit of that copy (``trex.bench.check``
writes it): split sizes, the gold answers' self-score, the reference lengths. ``split_note`` says how
the trex splits are cut from the source, and is shown by ``trex bench list``.
"""

from __future__ import annotations

from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

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


class LocalSource(StrictModel):
    """A local copy of the source: the repository whose layout it has, and how each trex split is read."""

    repo: str = Field(description="owner/repo on GitHub whose file layout the local copy has")
    license: str
    splits: dict[SplitName, SplitSource] = Field(description="files relative to the copy's root")
    reader: str | None = Field(default=None, description="a reader in trex.bench.local for non-tabular layouts")
    prepare_args: dict[str, Any] = Field(default={}, description="prepare_args changed for the local layout")


class Checked(StrictModel):
    """What the preparer produced on the real files of one commit of the local source."""

    source: str = Field(description="owner/repo@commit that was read")
    splits: dict[SplitName, int]
    gold_score: dict[SplitName, float] = Field(description="the gold answers scored as predictions")
    label_format: str = Field(description="what the labels look like in the real data")
    reference_tokens: dict[str, int] | None = Field(default=None, description="p50/p95/max reference length")
    columns: dict[SplitName, list[str]] = Field(
        default={}, description="the source columns every row of a split's real files has (trex's 'group' left out)"
    )
    prepared_columns: list[str] | None = Field(default=None, description="the columns of the prepared trex rows")
    labels: list[str] | None = Field(default=None, description="the label set, where the labels are a closed set")
    not_checked: str = ""


class Source(StrictModel):
    kind: Literal["hub", "github"]
    id: str = Field(description="Hugging Face dataset id, or GitHub owner/repo")
    revision: str = "main"
    config: str | None = None
    url: str = Field(description="the page a person reads about the data")
    splits: dict[SplitName, SplitSource]
    local: LocalSource | None = None


class BenchTask(StrictModel):
    name: str = Field(pattern=r"^[a-z0-9-]+$")
    title: str
    domain: str
    metric: str = Field(description="the paper's metric name, as shown in tables")
    reference_score: float = Field(description="Table 3: Qwen3-235B-2507")
    base_score: float = Field(description="Table 3: Qwen3-1.7B")
    sizes: dict[SplitName, int] = Field(description="split sizes of the paper's Table 2 (0: not known to us)")
    split_note: str = Field(description="how the trex splits are cut from the source (shown by bench list)")
    checked: Checked | None = None
    source: Source
    prepare: str = Field(description="function name in trex.bench.prepare")
    prepare_args: dict[str, Any] = {}
    split_args: dict[SplitName, dict[str, Any]] = Field(default={}, description="prepare_args changed for one split")
    extras: list[str] = Field(default=[], description="pip extras the metric needs, e.g. chem (RDKit)")
    notes: str = ""
    task: dict[str, Any] = Field(description="a trex task file body without data paths")

    @property
    def train_split(self) -> bool:
        """Whether the agent gets training data: False where the source names no train split (CS-Bench, GTA)."""
        return "train" in self.source.splits

    @property
    def splits(self) -> tuple[SplitName, ...]:
        """The trex splits this task prepares, in order: validation and test, after train where it has one."""
        return tuple(s for s in ("train", "validation", "test") if s in self.source.splits)

    @model_validator(mode="after")
    def _one_set_of_splits(self) -> BenchTask:
        given = set(self.source.splits)
        if not {"validation", "test"} <= given:
            raise ValueError(f"source.splits: validation and test are needed, got {sorted(given)}")
        named = {"source.local.splits": set(self.source.local.splits) if self.source.local else given}
        named["sizes"] = set(self.sizes)
        if self.checked is not None:
            named["checked.splits"] = set(self.checked.splits)
        for where, splits in named.items():
            if splits != given:
                raise ValueError(f"{where}: splits {sorted(splits)}, but source.splits has {sorted(given)}")
        if self.checked is not None and not set(self.checked.columns) <= given:
            raise ValueError(f"checked.columns: splits {sorted(self.checked.columns)} not all in source.splits")
        return self


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


class FixtureMeta(StrictModel):
    kind: Literal["real", "hand-written"]
    layout: Literal["local", "hub"] = Field(default="local", description="whose field names the rows have")
    source: str | None = Field(default=None, description="owner/repo@commit the rows were taken from")
    license: str | None = None
    why: str = Field(default="", description="why the fixture is hand-written, or how the rows were chosen")


def _fixture_document(name: str) -> dict[str, Any]:
    text = resources.files(FIXTURES_PACKAGE).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def load_fixture(name: str) -> dict[str, list[dict[str, Any]]]:
    """A small slice of a task's source rows (by trex split), in the local source's layout, for offline runs."""
    return {k: v for k, v in _fixture_document(name).items() if k != "meta"}


def fixture_meta(name: str) -> FixtureMeta:
    return FixtureMeta.model_validate(_fixture_document(name)["meta"])
