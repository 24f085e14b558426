"""What a run records at its start so that nothing can change its evaluation unseen, and ``trex verify``'s re-check.

``record_integrity`` writes, once per workspace (meta ``integrity``), the SHA-256 of every evaluation file and of
the metric's code (``trex.evaluation.integrity``), and of the base model's weights: every weight and config file
of a local folder (an ``embedded:`` model: the file it is built from, or its built folder), or, for a hub id, the
revision in the local hub cache. Weights are hashed once per file: the hash is cached under ``$TREX_CACHE`` by
path, modification time and size, so a large model is not read again by the next run. A resume keeps what the
first start recorded, so a change made between two sessions is caught too. Every job checks the evaluation part
before it scores (``trex.runtime.worker``). ``verify`` hashes everything again, without the cache.

Not guaranteed: a hub model that is not in the local cache is recorded by name only (its revision unknown); a
file edited and restored to the same bytes is, by design, unchanged.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from trex.assets import EMBEDDED, SMOLLM2, TINY, cache_dir, smollm2_gguf
from trex.evaluation.integrity import changed_files, evaluation_files, hash_files, sha256_file
from trex.store import Store
from trex.task.spec import TaskSpec

META_KEY = "integrity"
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf", ".h5", ".msgpack", ".json", ".model")
CACHE_FILE = "sha256-cache.json"


def _cached_sha(path: Path, cache: dict[str, str]) -> str:
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_mtime_ns}|{stat.st_size}"
    if key not in cache:
        cache[key] = sha256_file(path)
    return cache[key]


def model_files(base_model: str) -> list[Path]:
    """The files whose bytes are the base model (none for a hub id, or an embedded model not built yet)."""
    path: Path | None
    if base_model.startswith(EMBEDDED):
        name = base_model[len(EMBEDDED) :]
        try:
            path = smollm2_gguf() if name == SMOLLM2 else cache_dir() / "models" / name if name == TINY else None
        except RuntimeError:  # the embedded package is not installed
            path = None
    else:
        path = Path(base_model)
    if path is None or not path.exists():
        return []
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in WEIGHT_SUFFIXES)


def hub_revision(base_model: str) -> str | None:
    """The revision of a hub model in the local cache (the folder name of its snapshot), or None."""
    if base_model.startswith(EMBEDDED) or Path(base_model).exists():
        return None
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(base_model, "config.json")
    except Exception:  # noqa: BLE001 - not a repo id, or no hub library: the name is all there is
        return None
    return Path(found).parent.name if isinstance(found, str) else None


def hash_model(base_model: str, use_cache: bool = True) -> dict[str, Any]:
    """``{"ref", "revision", "files": {path: sha256}}`` of the base model."""
    cache_path = cache_dir() / CACHE_FILE
    cache: dict[str, str] = {}
    if use_cache:
        try:
            cache = json.loads(cache_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            cache = {}
    files = {str(p): _cached_sha(p, cache) for p in model_files(base_model)}
    if use_cache and files:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cache), encoding="utf-8")
        os.replace(tmp, cache_path)
    return {"ref": base_model, "revision": hub_revision(base_model), "files": files}


def integrity_of(task: TaskSpec) -> dict[str, Any]:
    files = evaluation_files(task.eval)
    return {
        "evaluation": hash_files(files["evaluation"]),
        "metric": hash_files(files["metric"]),
        "base_model": hash_model(task.base_model),
    }


def record_integrity(store: Store, task: TaskSpec) -> dict[str, Any]:
    """The run's integrity record: the stored one, or the one made now and stored (the run's start)."""
    recorded = store.get_meta(META_KEY)
    if recorded is None:
        recorded = integrity_of(task)
        store.set_meta(META_KEY, recorded)
    return recorded


def expected_hashes(recorded: dict[str, Any] | None) -> dict[str, str | None] | None:
    """Path -> SHA-256 that a job checks before it scores (evaluation files and metric code)."""
    if recorded is None:
        return None
    return {**recorded.get("evaluation", {}), **recorded.get("metric", {})}


def verify_record(recorded: dict[str, Any]) -> list[str]:
    """Every file the run recorded, hashed again without the cache: one line per change (none: all match)."""
    changed = []
    for part in ("evaluation", "metric"):
        changed += [f"{part}: {line}" for line in changed_files(recorded[part], hash_files(list(recorded[part])))]
    model = recorded.get("base_model") or {}
    weights = model.get("files", {})
    changed += [f"base model: {line}" for line in changed_files(weights, hash_files(list(weights)))]
    if model.get("revision") and hub_revision(model["ref"]) not in (None, model["revision"]):
        changed.append(f"base model: {model['ref']}: hub revision {hub_revision(model['ref'])} != {model['revision']}")
    return changed
