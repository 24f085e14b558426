"""TaskSpec: what the user asks trex to do, loaded from YAML with line-precise errors.

A task names the base model, the evaluation data and metric, optional training data, the default
training hyperparameters and the limits of the search. ``load_task`` validates the whole file
before anything runs: an unknown, missing or wrongly typed field raises ``TaskError`` whose
message names the field, the file and the line, e.g.
``task.yaml:2: objectiv: unknown field (did you mean 'objective'?)``.

Without ``train_data`` the LLM researcher builds a training set (``examples:`` gives it a few rows to show).
Data and model references may use the ``embedded:`` scheme (see ``trex.assets``). A data file may
name its encoding (``train_data: {path: tweets.csv, encoding: latin-1}``; UTF-8 otherwise), and one
file may give all three splits (``eval: {split: {from: data.csv, validation: 300, test: 300}}``).

Custom metrics (``metric: module:function``) are never imported here: the module must be a file
under the task's folder (the metric is then stored as that file's path) or belong to the installed
package named by ``metric_package:`` (or trex itself); jobs import it when they score.
Only plain ``{column}`` placeholders are allowed in ``prompt_template``.
"""

from __future__ import annotations

import codecs
import difflib
import os
import string
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trex.evaluation.config import EvalConfig, RegressionConfig
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


class OneFileSplit(StrictModel):
    """``eval.split``: validation and test rows drawn from one file; the rest is the training data."""

    from_: str = Field(alias="from", description="the data file to split")
    validation: int = Field(ge=1)
    test: int = Field(ge=1)
    seed: int = 0
    stratify: bool = Field(default=True, description="keep each label's share in every split")
    encoding: str = "utf-8"


class TaskSpec(StrictModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    objective: str
    base_model: str = Field(description="Hugging Face id, local folder or embedded:NAME")
    eval: EvalConfig
    train_data: str | None = Field(default=None, description="training rows; labels in eval.label_field")
    examples: list[dict[str, Any]] = Field(default_factory=list, description="rows shown when building train_data")
    reference_score: float | None = Field(default=None, description="score of a stronger reference model")
    training: TrainConfig = Field(default_factory=TrainConfig, description="the root's default hyperparameters")
    limits: Limits = Field(default_factory=Limits)
    decontaminate: bool = Field(
        default=True, description="drop training rows sharing an 8-word n-gram with the validation or test inputs"
    )
    exploration_c: float = Field(
        default=DEFAULT_C, ge=0, description="UCT exploration constant (on values normalized to [0, 1])"
    )
    allow_overlap: bool = Field(default=False, description="allow validation and test to share rows")
    metric_package: str | None = Field(default=None, description="installed package a custom metric may come from")
    regression: RegressionConfig | None = Field(default=None, exclude_if=lambda v: v is None)  # None: its defaults
    # filled from the file's `{path, encoding}` entries and `eval.split`; not written by hand
    data_encodings: dict[str, str] = Field(default_factory=dict, description="data file -> its encoding")
    eval_split: OneFileSplit | None = None

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
    if not ref or ref.startswith("embedded:") or Path(ref).is_absolute():
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
    encodings = _lift_data_refs(data, path, root)
    try:
        task = TaskSpec.model_validate(data, context={"base_dir": base_dir or path.parent})  # a suite's folder
    except ValidationError as exc:
        lines = [_describe(e, path, root) for e in exc.errors()]
        raise TaskError("\n".join(lines)) from None
    base_dir = base_dir or path.parent
    _check_template(task.eval.prompt_template, path, root)
    task = _resolve_metrics(task, path, root, base_dir)
    encodings = {_anchor(ref, base_dir): enc for ref, enc in encodings.items()}
    if task.eval_split is not None:
        source = _anchor(task.eval_split.from_, base_dir)
        task = task.model_copy(update={"eval_split": task.eval_split.model_copy(update={"from_": source})})
    local_model = (base_dir / task.base_model).exists() and not task.base_model.startswith("embedded:")
    evaluation = task.eval.model_copy(
        update={"validation": _anchor(task.eval.validation, base_dir), "test": _anchor(task.eval.test, base_dir)}
    )
    return task.model_copy(
        update={
            "data_encodings": {k: v for k, v in encodings.items() if k is not None},
            "train_data": _anchor(task.train_data, base_dir),
            "eval": evaluation,
            "base_model": str((base_dir / task.base_model).resolve()) if local_model else task.base_model,
        }
    )


def _lift_data_refs(data: dict[str, Any], path: Path, root: yaml.Node | None) -> dict[str, str]:
    """Turn ``{path, encoding}`` data entries into plain paths and ``eval.split`` into ``eval_split``.

    Returns data path -> encoding for the entries that name one.
    """
    encodings: dict[str, str] = {}
    evaluation = data.get("eval") if isinstance(data.get("eval"), dict) else {}
    places = [(data, "train_data", ("train_data",))]
    places += [(evaluation, name, ("eval", name)) for name in ("validation", "test")]
    for holder, key, loc in places:
        value = holder.get(key)
        if not isinstance(value, dict):
            continue
        line, _ = _line_of(root, loc)
        unknown = set(value) - {"path", "encoding"}
        if unknown or not isinstance(value.get("path"), str):
            raise TaskError(f"{path}:{line}: {'.'.join(loc)}: a path, or a mapping {{path, encoding}}")
        encoding = str(value.get("encoding", "utf-8"))
        _check_encoding(encoding, path, line, loc)
        holder[key] = value["path"]
        encodings[value["path"]] = encoding
    if "split" in evaluation:
        line, _ = _line_of(root, ("eval", "split"))
        if "validation" in evaluation or "test" in evaluation:
            raise TaskError(f"{path}:{line}: eval.split: give either split or validation/test files, not both")
        split = evaluation.pop("split")
        try:
            data["eval_split"] = OneFileSplit.model_validate(split)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise TaskError(f"{path}:{line}: eval.split.{where}: {first['msg']}") from None
        _check_encoding(data["eval_split"].encoding, path, line, ("eval", "split", "encoding"))
        evaluation["validation"] = evaluation["test"] = ""  # written into the workspace before the run
    if "allow_overlap" in evaluation:  # accepted in eval too, where a user looks for it
        data["allow_overlap"] = evaluation.pop("allow_overlap")
    return encodings


def _check_encoding(encoding: str, path: Path, line: int, loc: tuple[str, ...]) -> None:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise TaskError(f"{path}:{line}: {'.'.join(loc)}: unknown encoding {encoding!r}") from None


def _check_template(template: str, path: Path, root: yaml.Node | None) -> None:
    """Only plain ``{name}`` placeholders: no attribute, index, conversion or format spec."""
    line, _ = _line_of(root, ("eval", "prompt_template"))
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TaskError(
            f"{path}:{line}: eval.prompt_template: {exc} (write a literal brace as {{{{ or }}}})"
        ) from None
    for _, name, spec, conversion in parts:
        if name is not None and (not name.isidentifier() or spec or conversion):
            shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise TaskError(f"{path}:{line}: eval.prompt_template: {shown}: only plain {{column}} placeholders")


def _resolve_metrics(task: TaskSpec, path: Path, root: yaml.Node | None, base_dir: Path) -> TaskSpec:
    """Custom metrics: a file under the task's folder (stored by path) or a module of metric_package or trex."""
    from trex.evaluation.metrics import BUILTIN_METRICS

    trusted = {"trex", *([task.metric_package] if task.metric_package else [])}
    folder = base_dir.resolve()

    def resolve(name: str, loc: tuple[str, ...]) -> str:
        if name in BUILTIN_METRICS:
            return name
        module, _, attr = name.rpartition(":") if ":" in name else name.rpartition(".")
        if module.split(".")[0] in trusted:
            return name
        file = (folder / (module.replace(".", "/") + ".py")).resolve()
        if file.is_file() and file.is_relative_to(folder):
            return f"{file}:{attr}"
        line, _ = _line_of(root, loc)
        raise TaskError(
            f"{path}:{line}: {'.'.join(loc)}: custom metric {name!r}: module {module!r} is neither a file under the "
            f"task's folder ({folder}) nor part of the package named by metric_package"
        )

    evaluation = task.eval
    metric = resolve(evaluation.metric, ("eval", "metric"))
    groups = {g: resolve(m, ("eval", "group_metrics", g)) for g, m in (evaluation.group_metrics or {}).items()}
    update = {"metric": metric, "group_metrics": groups or evaluation.group_metrics}
    return task.model_copy(update={"eval": evaluation.model_copy(update=update)})


def load_task(path: str | Path, base_dir: Path | None = None) -> TaskSpec:
    """Read and validate a task file (relative paths resolved against ``base_dir`` or its folder)."""
    from trex.task.datafiles import DataError, decode

    path = Path(path)
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise TaskError(f"{path}: is a folder, not a task file") from None
    except OSError as exc:
        raise TaskError(f"{path}: cannot read task file: {exc.strerror}") from None
    try:
        text = decode(raw, str(path), "utf-8")
    except DataError as exc:
        raise TaskError(f"{exc} (a task file is UTF-8)") from None
    return parse_task(text, path, base_dir)
