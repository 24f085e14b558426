"""TaskSpec: what the user asks trex to do, loaded from YAML with line-precise errors.

A task names the base model, the evaluation data and metric, optional training data, the default
training hyperparameters and the limits of the search. ``load_task`` validates the whole file
before anything runs: an unknown, missing or wrongly typed field raises ``TaskError`` whose
message names the field, the file and the line, e.g.
``task.yaml:2: objectiv: unknown field (did you mean 'objective'?)``.

Data and model references may use the ``embedded:`` scheme (see ``trex.assets``).
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trex.evaluation.config import EvalConfig
from trex.search.policies import DEFAULT_C
from trex.train.config import TrainConfig


class TaskError(ValueError):
    """The task file is unreadable or invalid; the message names the file, line and field."""


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Limits(StrictModel):
    """Limits of the search; the command line may override max_iterations."""

    max_iterations: int = Field(default=20, ge=1, description="nodes in the tree, the root baseline included")
    max_train_samples: int = Field(default=50_000, ge=1)
    configs_per_plan: int = Field(default=3, ge=1, le=5, description="parallel training configurations per node")
    max_children: int = Field(default=4, ge=1, description="children a node may have before it stops being expandable")
    wall_clock_minutes: float | None = Field(default=None, gt=0)
    gpu_hours: float | None = Field(default=None, gt=0)
    llm_usd: float | None = Field(default=None, gt=0)
    job_timeout_minutes: float = Field(default=60, gt=0)
    grace_minutes: float = Field(
        default=5, ge=0, description="running jobs may finish this long past the wall-clock or GPU-hour limit"
    )


class TaskSpec(StrictModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    objective: str
    base_model: str = Field(description="Hugging Face id, local folder or embedded:NAME")
    eval: EvalConfig
    train_data: str | None = Field(default=None, description="training rows; labels in eval.label_field")
    reference_score: float | None = Field(default=None, description="score of a stronger reference model")
    training: TrainConfig = Field(default_factory=TrainConfig, description="the root's default hyperparameters")
    limits: Limits = Field(default_factory=Limits)
    decontaminate: bool = Field(
        default=True, description="drop training rows sharing an 8-word n-gram with the validation or test inputs"
    )
    exploration_c: float = Field(
        default=DEFAULT_C, ge=0, description="UCT exploration constant (on values normalized to [0, 1])"
    )

    def normalize(self, score: float) -> float:
        """The task metric mapped to [0, 1] by metric_range: the reward of the tree."""
        lo, hi = self.eval.metric_range
        return min(1.0, max(0.0, (score - lo) / (hi - lo)))


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> tuple[int, str | None]:
    """Walk the YAML node tree along a pydantic error location; return (1-based line, bad key)."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if match is None:
                return line, None
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line, None


def _model_fields(loc: tuple[Any, ...]) -> list[str]:
    model: Any = TaskSpec
    for part in loc[:-1]:
        field = getattr(model, "model_fields", {}).get(str(part))
        if field is None:
            return []
        model = field.annotation
    return list(getattr(model, "model_fields", {}))


def _describe(error: dict[str, Any], path: Path, root: yaml.Node | None) -> str:
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    line, _ = _line_of(root, loc)
    field = ".".join(str(p) for p in loc) or "(task)"
    if error["type"] == "extra_forbidden":
        close = difflib.get_close_matches(str(loc[-1]), _model_fields(loc), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"{path}:{line}: {field}: unknown field{hint}"
    if error["type"] == "missing":
        return f"{path}:{line}: {field}: required field is missing"
    hint = (
        " (YAML reads yes/no/on/off/true/false as booleans: quote them)"
        if isinstance(error.get("input"), bool)
        else ""
    )
    return f"{path}:{line}: {field}: {error['msg']}{hint}"


def _anchor(ref: str | None, base_dir: Path) -> str | None:
    """A relative local path is taken relative to the task file's folder; other references pass."""
    if ref is None or ref.startswith("embedded:") or Path(ref).is_absolute():
        return ref
    return os.path.normpath(base_dir.resolve() / ref)


def parse_task(text: str, path: Path, base_dir: Path | None = None) -> TaskSpec:
    """Validate YAML text as a TaskSpec; errors name ``path``, the line and the field.

    Relative data paths (and a base model that is a local folder) are resolved against
    ``base_dir``, by default the folder of ``path``.
    """
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise TaskError(f"{path}:{line}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise TaskError(f"{path}:1: a task file is a YAML mapping of fields, got {type(data).__name__}")
    try:
        task = TaskSpec.model_validate(data)
    except ValidationError as exc:
        lines = [_describe(e, path, root) for e in exc.errors()]
        raise TaskError("\n".join(lines)) from None
    base_dir = base_dir or path.parent
    local_model = (base_dir / task.base_model).exists() and not task.base_model.startswith("embedded:")
    evaluation = task.eval.model_copy(
        update={"validation": _anchor(task.eval.validation, base_dir), "test": _anchor(task.eval.test, base_dir)}
    )
    return task.model_copy(
        update={
            "train_data": _anchor(task.train_data, base_dir),
            "eval": evaluation,
            "base_model": str((base_dir / task.base_model).resolve()) if local_model else task.base_model,
        }
    )


def load_task(path: str | Path, base_dir: Path | None = None) -> TaskSpec:
    """Read and validate a task file (relative paths resolved against ``base_dir`` or its folder)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TaskError(f"{path}: cannot read task file: {exc.strerror}") from None
    return parse_task(text, path, base_dir)
