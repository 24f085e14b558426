"""Evaluation integrity: the SHA-256 of every file that decides a score, and the check a job makes before it scores.

``evaluation_files(cfg)`` names the files of an evaluation config: its validation and test files (an ``embedded:``
split resolved to its file, a glob expanded) and the metric's code, the module file of each metric it uses (the
built-in metrics' ``trex/evaluation/metrics.py``, a custom ``module:function``'s module, a ``file.py:function``'s
file). ``hash_files`` hashes them; a file that cannot be found hashes to None. ``check_evaluation`` compares them
with what the run recorded at its start and raises ``EvaluationChanged`` naming each changed file.

Guarantees: a job whose evaluation files or metric module differ, byte for byte, from the run's start is failed
before it scores. Not guaranteed: what a file imports in turn (a custom metric's helpers, trex's scoring code
beyond ``metrics.py``, installed libraries) and a change made between the check and the read a moment later.
"""

from __future__ import annotations

import glob
import hashlib
import importlib.util
from pathlib import Path

from trex.evaluation.config import EvalConfig

CHANGED = "evaluation changed"


class EvaluationChanged(RuntimeError):
    """An evaluation file or the metric's code is not what the run recorded at its start."""


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _data_files(ref: str) -> list[str]:
    from trex.assets import AssetError, resolve_data

    try:
        path = resolve_data(ref)
    except AssetError:
        return [ref]  # unavailable: hashed as None, and the job fails to load it anyway
    return sorted(glob.glob(path)) or [path]


def metric_module_file(name: str) -> str:
    """The file of the module that defines metric ``name`` (found, not imported)."""
    from trex.evaluation import metrics

    if name in metrics.BUILTIN_METRICS:
        return str(Path(metrics.__file__).resolve())
    module_name = name.rpartition(":")[0] if ":" in name else name.rpartition(".")[0]
    if module_name.endswith(".py"):
        return str(Path(module_name).resolve())
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        spec = None
    return str(Path(spec.origin).resolve()) if spec is not None and spec.origin else module_name


def evaluation_files(cfg: EvalConfig) -> dict[str, list[str]]:
    """``{"evaluation": [validation and test files], "metric": [metric module files]}``."""
    data = [*_data_files(cfg.validation), *_data_files(cfg.test)]
    metrics = sorted({metric_module_file(m) for m in {cfg.metric, *(cfg.group_metrics or {}).values()}})
    return {"evaluation": data, "metric": metrics}


def hash_files(paths: list[str]) -> dict[str, str | None]:
    """Path -> SHA-256 (None for a file that is not there or cannot be read)."""
    hashes: dict[str, str | None] = {}
    for path in paths:
        try:
            hashes[path] = sha256_file(path)
        except OSError:
            hashes[path] = None
    return hashes


def changed_files(recorded: dict[str, str | None], now: dict[str, str | None]) -> list[str]:
    """One line per file whose hash differs from the recorded one (or that was not recorded)."""
    lines = []
    for path, sha in now.items():
        if path not in recorded:
            lines.append(f"{path}: not recorded at the run's start")
        elif recorded[path] != sha:
            what = "missing" if sha is None else "appeared" if recorded[path] is None else "content differs"
            lines.append(f"{path}: {what}")
    return lines


def check_evaluation(cfg: EvalConfig, recorded: dict[str, str | None]) -> dict[str, str | None]:
    """The hashes of ``cfg``'s files, checked against ``recorded`` (path -> SHA-256 at the run's start);
    ``EvaluationChanged`` names every file that differs."""
    files = evaluation_files(cfg)
    now = hash_files([*files["evaluation"], *files["metric"]])
    changed = changed_files(recorded, now)
    if changed:
        raise EvaluationChanged(f"{CHANGED}: " + "; ".join(changed))
    return now
