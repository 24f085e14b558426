"""A task's fingerprint: what a workspace stores to know that a later run is the same task.

Every field of the task but ``limits`` (a run's budget, which ``resume`` may change), flattened to
dotted names, plus the size and SHA-256 of each local data file. A glob is expanded: it gets an
entry with its file count (``data file PATTERN``) and each matching file one of its own
(``data file PATTERN -> FILE``), so a changed, added or removed file behind it is seen.
``first_difference`` names the first field or file that differs, for the error that refuses a changed
task. Fingerprints stored before globs were expanded have no entry for the pattern: the given
pattern's entries are then not compared, so older workspaces still resume.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from trex.task.datafiles import is_pattern, pattern_files
from trex.task.spec import TaskSpec

DATA = "data file "
GLOB = "glob of "  # the value of a pattern's own entry: 'glob of N files'


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
        if ref.startswith("embedded:"):
            continue
        if is_pattern(ref):
            matched = pattern_files(ref)
            out[f"{DATA}{ref}"] = f"{GLOB}{len(matched)} files"
            out.update({f"{DATA}{ref} -> {file}": _digest(file) for file in matched})
        elif Path(ref).is_file():
            out[f"{DATA}{ref}"] = _digest(ref)
    return out


def _unrecorded_globs(stored: dict[str, str], given: dict[str, str]) -> set[str]:
    """Given entries of patterns the stored fingerprint has no entry for (stored before globs were hashed)."""
    patterns = [k for k, v in given.items() if k.startswith(DATA) and v.startswith(GLOB) and k not in stored]
    return {k for k in given for p in patterns if k == p or k.startswith(f"{p} -> ")}


def first_difference(stored: dict[str, str], given: dict[str, str]) -> str | None:
    skipped = _unrecorded_globs(stored, given)
    for key in [*stored, *(k for k in given if k not in stored and k not in skipped)]:
        if stored.get(key) != given.get(key):
            return f"{key}: stored {stored.get(key, '(absent)')}, given {given.get(key, '(absent)')}"
    return None
