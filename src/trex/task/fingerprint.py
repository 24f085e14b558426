"""A task's fingerprint: what a workspace stores to know that a later run is the same task.

Every field of the task but ``limits`` (a run's budget, which ``resume`` may change), flattened to
dotted names, plus the size and SHA-256 of each local data file. ``first_difference`` names the
first field or file that differs, for the error that refuses a changed task.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from trex.task.spec import TaskSpec


def _flatten(value: Any, prefix: str, out: dict[str, str]) -> None:
    if isinstance(value, dict) and value:
        for key in value:
            _flatten(value[key], f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = json.dumps(value, sort_keys=True)


def _digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return f"{os.path.getsize(path)} bytes, sha256 {h.hexdigest()[:16]}"


def fingerprint(task: TaskSpec) -> dict[str, str]:
    """The task's content: every field but limits (a run's budget), and the size and hash of each data file."""
    out: dict[str, str] = {}
    _flatten(task.model_dump(mode="json", exclude={"limits"}), "", out)
    files = [task.train_data, task.eval.validation, task.eval.test, task.eval_split.from_ if task.eval_split else None]
    for ref in dict.fromkeys(f for f in files if f):
        if not ref.startswith("embedded:") and Path(ref).is_file():
            out[f"data file {ref}"] = _digest(ref)
    return out


def first_difference(stored: dict[str, str], given: dict[str, str]) -> str | None:
    for key in [*stored, *(k for k in given if k not in stored)]:
        if stored.get(key) != given.get(key):
            return f"{key}: stored {stored.get(key, '(absent)')}, given {given.get(key, '(absent)')}"
    return None
