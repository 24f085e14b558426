"""Recipes: ordered lists of AIDP operator calls, checked whole before any step runs.

``Recipe.validate_steps`` parses every step's parameters with its operator's schema and follows
the columns from step to step (a loader peeks at its file's columns without loading it; each
operator declares the columns it reads and writes), so an unknown operator, a bad parameter or
a missing column raises ``RecipeError`` naming the step number and the field before any work.
``run_recipe`` runs the steps in order and returns the dataset with per-step statistics: rows in
and out, seconds, and why rows were dropped. ``fingerprint`` is equal for equal steps, equal
input files (by content) and equal seeds. ``load_recipe`` reads a YAML or JSON file (a list of
steps, or ``{steps: [...]}``); its relative data paths are taken relative to the recipe file's
folder, as a task file's are, so a recipe runs the same from any folder. ``data_references`` lists
every local data file every step names (``DATA_FIELDS``), for the data check before a run.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from datasets import Dataset
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trex.aidp.operators import OPERATORS, OperatorError, Params

DROP_REASONS = {
    "deduplicate_by_text_hash": "exact duplicate of an earlier row",
    "deduplicate_near": "near duplicate of an earlier row",
    "decontaminate": "shares an n-gram with the evaluation data",
    "select_by_filter": "the expression is false",
    "select_by_score": "not among the best scores",
    "select_by_random": "not drawn in the sample",
    "cap_samples": "over the sample cap",
    "mix_datasets": "not drawn for the mixture",
    "map_columns": "its label has no mapping onto the task's",
}
MAX_COUNTED_LABELS = 50  # a label column with more distinct values is free text: not counted


# Where an operator's arguments name local data files: dotted paths into its args, '*' for each item of a list.
DATA_FIELDS: dict[str, tuple[str, ...]] = {
    "load_local_dataset": ("path",),
    "mix_datasets": ("sources.*.path",),
    "decontaminate": ("against.*",),
}


class RecipeError(ValueError):
    """A recipe step is unknown, has a bad parameter, reads a missing column, or failed; the message names the step."""


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    op: str
    args: dict[str, Any] = Field(default_factory=dict)


class StepStats(BaseModel):
    step: int
    op: str
    rows_in: int
    rows_out: int
    seconds: float
    dropped: int = 0
    reason: str | None = None  # why rows were dropped, when some were
    # rows by origin and by label after this step, while the rows carry a ``source`` column (a built training set)
    sources: dict[str, int] = {}
    labels: dict[str, int] = {}


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: list[Step]

    def validate_steps(self) -> list[Params]:
        """Parse every step and follow its columns; the first problem raises RecipeError."""
        parsed = []
        for number, step in enumerate(self.steps, start=1):
            operator = OPERATORS.get(step.op)
            if operator is None:
                raise RecipeError(
                    f"step {number}: unknown operator {step.op!r} (known: {', '.join(sorted(OPERATORS))})"
                )
            missing = operator.missing_dependencies()
            if missing:
                raise RecipeError(f"step {number} ({step.op}): needs {', '.join(missing)}: pip install {missing[0]!r}")
            try:
                parsed.append(operator.params.model_validate(step.args))
            except ValidationError as exc:
                err = exc.errors()[0]
                field = ".".join(str(p) for p in err["loc"]) or "(args)"
                raise RecipeError(f"step {number} ({step.op}): {field}: {err['msg']}") from None
        if self.steps and not OPERATORS[self.steps[0].op].may_start(parsed[0]):
            raise RecipeError(
                f"step 1 ({self.steps[0].op}): a recipe starts with a loader (or a from-scratch generator)"
            )
        self._check_columns(parsed)
        return parsed

    def _check_columns(self, parsed: list[Params]) -> None:
        columns: list[str] | None = None  # None: not known before running (e.g. a hub dataset)
        for number, (step, p) in enumerate(zip(self.steps, parsed, strict=True), start=1):
            operator = OPERATORS[step.op]
            if number == 1 and operator.category != "loader":  # a generator writing rows from nothing
                columns = operator.columns_after(p, [])
                continue
            if operator.category == "loader":
                try:
                    columns = operator.peek(p) if operator.peek is not None else None
                except OperatorError as exc:
                    raise RecipeError(f"step {number} ({step.op}): {exc}") from None
                continue
            if columns is not None:
                missing = [c for c in operator.needs(p) if c not in columns]
                if missing:
                    raise RecipeError(
                        f"step {number} ({step.op}): column(s) {missing} not in the data at this step "
                        f"(columns: {columns})"
                    )
                columns = operator.columns_after(p, columns)

    def code_steps(self) -> list[str]:
        """'step N (op)' for each step that runs code an LLM wrote (a ``code`` argument: only the sandbox runs it)."""
        return [f"step {n} ({s.op})" for n, s in enumerate(self.steps, start=1) if s.args.get("code") is not None]

    def with_step(self, op: str, **args: Any) -> Recipe:
        return Recipe(steps=[*self.steps, Step(op=op, args=args)])

    def insert_after(self, op: str, step: Step) -> Recipe:
        """A copy with ``step`` right after the first step that calls ``op``; RecipeError when none does."""
        for number, existing in enumerate(self.steps, start=1):
            if existing.op == op:
                return Recipe(steps=[*self.steps[:number], step, *self.steps[number:]])
        raise RecipeError(f"no step calls {op!r} (steps: {', '.join(s.op for s in self.steps)})")


def _origins(ds: Dataset, label_column: str | None) -> dict[str, dict[str, int]]:
    """Rows by ``source`` and by label, when the rows carry a source column."""
    if "source" not in ds.column_names:
        return {}
    from collections import Counter

    counts = {"sources": dict(Counter(str(v) for v in ds["source"]).most_common())}
    if label_column is not None and label_column in ds.column_names:
        labels = Counter(str(v) for v in ds[label_column])
        if len(labels) <= MAX_COUNTED_LABELS:
            counts["labels"] = dict(labels.most_common())
    return counts


def run_recipe(recipe: Recipe, label_column: str | None = None) -> tuple[Dataset, list[StepStats]]:
    """Validate, then run every step; a failing step raises RecipeError with its number. While the rows carry a
    ``source`` column, each step's statistics count them by source and by ``label_column``."""
    params = recipe.validate_steps()
    ds: Dataset | None = None
    stats = []
    for number, (step, p) in enumerate(zip(recipe.steps, params, strict=True), start=1):
        rows_in = len(ds) if ds is not None else 0
        start = time.perf_counter()
        try:
            ds = OPERATORS[step.op].fn(ds, p)
        except (OperatorError, ValueError, KeyError) as exc:
            raise RecipeError(f"step {number} ({step.op}): {exc}") from exc
        dropped = max(0, rows_in - len(ds)) if OPERATORS[step.op].category != "loader" else 0
        stats.append(
            StepStats(
                step=number,
                op=step.op,
                rows_in=rows_in,
                rows_out=len(ds),
                seconds=time.perf_counter() - start,
                dropped=dropped,
                reason=DROP_REASONS.get(step.op, "dropped by the operator") if dropped else None,
                **_origins(ds, label_column),
            )
        )
        if len(ds) == 0:  # nothing downstream can train on no rows: name the step that emptied the data
            why = f" ({stats[-1].reason})" if stats[-1].reason else ""
            what = f"left no rows of {rows_in}{why}" if rows_in else "loaded no rows"
            raise RecipeError(f"step {number} ({step.op}) {what}: the data is empty")
    if ds is None:
        raise RecipeError("empty recipe: it needs at least a loader step")
    return ds, stats


def _file_digests(value: Any) -> list[str]:
    """sha256 of every existing file a parameter value names (strings, lists and dicts walked)."""
    from trex.assets import resolve_data

    if isinstance(value, str):
        try:
            path = Path(resolve_data(value))
        except Exception:  # not a data reference
            return []
        files = sorted(path.parent.glob(path.name)) if any(c in path.name for c in "*?[") else [path]
        digests = []
        for file in files:
            if file.is_file():
                digest = hashlib.sha256()
                with file.open("rb") as handle:
                    for chunk in iter(lambda h=handle: h.read(1 << 20), b""):
                        digest.update(chunk)
                digests.append(digest.hexdigest())
        return digests
    if isinstance(value, list):
        return [d for item in value for d in _file_digests(item)]
    if isinstance(value, dict):
        return [d for item in value.values() for d in _file_digests(item)]
    return []


def fingerprint(recipe: Recipe) -> str:
    """Equal for equal steps (seeds included) and equal input files, by content; 16 hex digits."""
    steps = [step.model_dump() for step in recipe.steps]
    inputs = [_file_digests(step.args) for step in recipe.steps]
    blob = json.dumps({"steps": steps, "inputs": inputs}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _map_field(value: Any, parts: list[str], fn: Callable[[str], str]) -> Any:
    """``value`` with ``fn`` applied to the strings at the dotted path ``parts`` (other values kept as they are)."""
    if not parts:
        return fn(value) if isinstance(value, str) else value
    head, rest = parts[0], parts[1:]
    if head == "*":
        return [_map_field(item, rest, fn) for item in value] if isinstance(value, list) else value
    if isinstance(value, dict) and head in value:
        return {**value, head: _map_field(value[head], rest, fn)}
    return value


def _map_data(step: Step, fn: Callable[[str], str]) -> Step:
    args = step.args
    for field in DATA_FIELDS.get(step.op, ()):
        args = _map_field(args, field.split("."), fn)
    return Step(op=step.op, args=args)


def data_references(recipe: Recipe) -> list[tuple[int, Step, str]]:
    """(step number, step, reference) for every local data file or glob a step names; ``embedded:`` data left out."""
    found: list[tuple[int, Step, str]] = []
    for number, step in enumerate(recipe.steps, start=1):
        refs: list[str] = []
        _map_data(step, lambda ref, refs=refs: refs.append(ref) or ref)
        found += [(number, step, ref) for ref in refs if not ref.startswith("embedded:")]
    return found


def _anchor(ref: str, folder: Path) -> str:
    if ref.startswith("embedded:") or Path(ref).is_absolute():
        return ref
    return os.path.normpath(folder.resolve() / ref)


def load_recipe(path: Path) -> Recipe:
    """A recipe from YAML or JSON: a list of steps, or a mapping with 'steps'."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RecipeError(f"{path}: cannot read recipe: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise RecipeError(f"{path}: not valid YAML/JSON: {exc}") from None
    steps = data.get("steps") if isinstance(data, dict) else data
    if not isinstance(steps, list):
        raise RecipeError(f"{path}: a recipe is a list of steps (or a mapping with 'steps')")
    parsed = []
    for number, raw in enumerate(steps, start=1):
        try:
            parsed.append(Step.model_validate(raw))
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "(step)"
            raise RecipeError(f"{path}: step {number}: {field}: {err['msg']}") from None
    folder = Path(path).parent
    return Recipe(steps=[_map_data(step, lambda ref: _anchor(ref, folder)) for step in parsed])
