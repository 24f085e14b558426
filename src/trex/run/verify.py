"""``trex verify``: everything a run recorded at its start, hashed again, and the provenance of its exported models.

``write_export_record`` (called by ``trex export``) writes ``trex_export.json`` beside an exported model: the node,
the job, the job's base model and the SHA-256 of that model's weights at export time, and the SHA-256 of every file
the export wrote. ``verify_run`` re-hashes the run's integrity record (``trex.run.integrity``, without the hash
cache) and, for every export the store knows of (or the folders given), checks that the export's base model is the
task's base model with the weights the run started with, and that the exported files are still those written.

Not guaranteed: an export whose ``trex_export.json`` was rewritten together with its files is not caught (the
record is evidence kept beside the model, not a signature); a workspace of an older release has no record of its
start and is verified only from the moment it resumed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trex.evaluation.integrity import changed_files, hash_files
from trex.run.integrity import META_KEY, hash_model, verify_record
from trex.store import Store

EXPORT_FILE = "trex_export.json"
EXPORT_EVENT = "model_exported"


@dataclass
class Verdict:
    """What ``trex verify`` found: ``changed`` names each file that differs (empty: everything matches)."""

    checked: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.changed


def write_export_record(store: Store, out: Path, node_id: int, job_hash: str, base_model: str) -> dict[str, Any]:
    """Write ``out/trex_export.json`` and record the export in the store (event ``model_exported``)."""
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and p.name != EXPORT_FILE)
    hashes = hash_files([str(out / name) for name in names]).values()
    files = dict(zip(names, hashes, strict=True))
    record = {"node": node_id, "job": job_hash, "base_model": hash_model(base_model), "files": files}
    (out / EXPORT_FILE).write_text(json.dumps(record, indent=1), encoding="utf-8")
    store.event(EXPORT_EVENT, node_id, out=str(out.resolve()), job=job_hash)
    return record


def verify_export(out: Path, recorded: dict[str, Any], verdict: Verdict) -> None:
    """The export in ``out`` against the run's record: its base model and weights, and its own files."""
    try:
        export = json.loads((out / EXPORT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        verdict.changed.append(f"export {out}: no readable {EXPORT_FILE} ({exc})")
        return
    task_base, base = recorded.get("base_model") or {}, export.get("base_model") or {}
    if base.get("ref") != task_base.get("ref"):
        verdict.changed.append(
            f"export {out}: base model {base.get('ref')!r} is not the task's {task_base.get('ref')!r}"
        )
    elif base.get("files") != task_base.get("files") or base.get("revision") != task_base.get("revision"):
        verdict.changed.append(f"export {out}: base model {base.get('ref')} weights differ from the run's start")
    else:
        verdict.checked.append(f"export {out}: base model is the task's, {base.get('ref')}, with the weights recorded")
    files = export.get("files", {})
    now = {name: sha for name, sha in zip(files, hash_files([str(out / n) for n in files]).values(), strict=True)}
    verdict.changed += [f"export {out}: {line}" for line in changed_files(files, now)]
    verdict.checked.append(f"export {out}: {len(files)} exported file(s) hashed")


def verify_run(store: Store, exports: list[Path] | None = None) -> Verdict:
    """Re-hash what the run recorded and check its exports (those given, else those the store recorded)."""
    verdict = Verdict()
    recorded = store.get_meta(META_KEY)
    if recorded is None:
        verdict.changed.append(
            "this workspace holds no integrity record (a run of an older release that never resumed)"
        )
        return verdict
    parts = {"evaluation": "evaluation file", "metric": "metric code"}
    for part, what in parts.items():
        verdict.checked += [f"{what}: {path}" for path in recorded.get(part, {})]
    model = recorded.get("base_model") or {}
    verdict.checked.append(
        f"base model {model.get('ref')}: {len(model.get('files', {}))} file(s)"
        + (f", hub revision {model['revision']}" if model.get("revision") else "")
    )
    verdict.changed += verify_record(recorded)
    folders = exports if exports is not None else [Path(e["data"]["out"]) for e in store.events(EXPORT_EVENT)]
    for out in dict.fromkeys(folders):
        verify_export(Path(out), recorded, verdict)
    return verdict
