"""A workspace: one folder, one task, one run at a time.

``open_run`` (``trex run``) and ``open_resume`` (``trex resume``) are the only ways in. Before
anything is written they check, in this order, and raise ``WorkspaceError`` (exit 2) or
``DataError`` (exit 2) naming the file:

1. the data (``trex.task.datacheck``), so a broken task leaves an existing workspace byte-identical;
2. the folder: not a file, writable, and either empty, new, or a trex workspace (a folder with
   other files is never written into);
3. the task: a workspace belongs to one task. Its fingerprint (``trex.task.fingerprint``: every field but
   ``limits``, plus the size and SHA-256 of each data file) is stored with the first run; a run with another task
   names the first difference. ``open_resume`` uses the stored task and refuses changed data files;
4. the lock: an exclusive ``flock`` on ``<workspace>/trex.lock``, held until the process exits.
   A second run exits naming the holder's PID; the kernel drops the lock when its holder dies,
   even by SIGKILL, so no stale lock survives (the file may stay; its content is only a hint).

Then the data the jobs read is put in ``<workspace>/data/`` when the task needs it: the one-file
split (``eval.split``) as JSONL, and files in another encoding than UTF-8 transcoded, once; a
resume reads the same files. Credentials in stored URLs are removed (``user:secret@`` and query
strings that look like keys).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from trex.store import Store, StoreError
from trex.task.datacheck import check_rows, splits_of
from trex.task.datafiles import Rows
from trex.task.fingerprint import fingerprint, first_difference
from trex.task.spec import TaskSpec, load_task

if TYPE_CHECKING:
    from trex.run.options import RunOptions

LOCK_FILE = "trex.lock"
DATA_DIR = "data"


class WorkspaceError(ValueError):
    """The workspace cannot take this run: busy, foreign files, another task, unwritable."""


# the lock --------------------------------------------------------------------------------------
class WorkspaceLock:
    """An exclusive flock on ``<workspace>/trex.lock`` for the life of this process (or until ``release``)."""

    def __init__(self, workspace: Path) -> None:
        path = workspace / LOCK_FILE
        try:
            self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise WorkspaceError(f"{path}: cannot open the workspace lock: {exc.strerror}") from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self.fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(self.fd)
            raise WorkspaceError(
                f"{workspace}: another trex run is using this workspace (PID {holder}); wait for it or stop it"
            ) from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing the last descriptor drops the flock
            self.fd = -1


_HELD: dict[str, WorkspaceLock] = {}


def hold_lock(workspace: Path) -> WorkspaceLock:
    """This process's lock on the workspace, taken once: a library user may open its own workspace again."""
    key = str(workspace.resolve())
    held = _HELD.get(key)
    if held is None or held.fd < 0:
        held = _HELD[key] = WorkspaceLock(workspace)
    return held


# the folder -------------------------------------------------------------------------------------
def check_folder(workspace: Path) -> bool:
    """Raise unless the folder can hold this run; True when it already holds one."""
    if workspace.exists() and not workspace.is_dir():
        raise WorkspaceError(f"{workspace}: is a file, not a folder; give --workspace a folder")
    if workspace.is_dir():
        if (workspace / Store.DB_FILE).exists():
            if not os.access(workspace, os.W_OK):
                raise WorkspaceError(f"{workspace}: the folder is not writable")
            return True
        if any(p.name != LOCK_FILE for p in workspace.iterdir()):  # a lock alone: a run is starting here
            raise WorkspaceError(
                f"{workspace}: the folder holds other files and no trex run; trex writes only into a new or "
                "empty folder, or a workspace of its own"
            )
    parent = workspace if workspace.is_dir() else next(p for p in workspace.absolute().parents if p.exists())
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise WorkspaceError(f"{workspace}: cannot create or write this folder ({parent} is not writable)")
    return False


def _stored_meta(workspace: Path) -> dict[str, Any]:
    """The meta table, read through a read-only connection (nothing is written, no lock is taken)."""
    store = Store.open_existing(workspace, read_only=True)
    try:
        return store.all_meta()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{workspace / Store.DB_FILE}: not a readable trex store ({exc})") from None
    finally:
        store.close()


# credentials ------------------------------------------------------------------------------------
_SECRET_QUERY = re.compile(r"(?i)(key|token|secret|password|sig|auth)")


def strip_credentials(url: str | None) -> str | None:
    """The URL without ``user:password@`` and without query parameters that look like credentials."""
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    query = "&".join(q for q in parts.query.split("&") if q and not _SECRET_QUERY.search(q.partition("=")[0]))
    return urlunsplit((parts.scheme, host, parts.path, query, parts.fragment))


# data the jobs read -----------------------------------------------------------------------------
def _write_jsonl(rows: Rows, path: Path) -> None:
    if path.exists():  # written by the first run: a resume must see the same rows
        return
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        for row in rows.rows:
            handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    tmp.replace(path)


def prepare_data(task: TaskSpec, splits: dict[str, Rows], workspace: Path) -> TaskSpec:
    """The task as its jobs read it: split and transcoded files in ``<workspace>/data/``, UTF-8 JSONL."""
    recoded = {ref for ref, enc in task.data_encodings.items() if enc.replace("-", "").lower() != "utf8"}
    update: dict[str, Any] = {}
    folder = workspace / DATA_DIR
    evaluation = task.eval
    for name in ("train", "validation", "test"):
        ref = task.train_data if name == "train" else getattr(task.eval, name)
        from_split = task.eval_split is not None and not (name == "train" and task.train_data)
        if name not in splits or not (from_split or ref in recoded):
            continue
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{name}.jsonl"
        _write_jsonl(splits[name], target)
        if name == "train":
            update["train_data"] = str(target)
        else:
            evaluation = evaluation.model_copy(update={name: str(target)})
    return task.model_copy(update={**update, "eval": evaluation}) if update or evaluation is not task.eval else task


# the ways in ------------------------------------------------------------------------------------
def _lock_and_open(workspace: Path) -> tuple[Store, WorkspaceLock]:
    try:
        workspace.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkspaceError(f"{workspace}: cannot create the folder: {exc.strerror}") from None
    lock = hold_lock(workspace)
    try:
        store = Store(workspace)
    except (sqlite3.DatabaseError, OSError) as exc:
        lock.release()
        raise StoreError(f"{workspace / Store.DB_FILE}: cannot open the store: {exc}") from None
    store.workspace_lock = lock  # type: ignore[attr-defined]  # held as long as the store lives
    return store, lock


def vet_run(workspace: Path, task: TaskSpec, task_path: Path) -> dict[str, Rows]:
    """Steps 1-3 for a new run, writing nothing; the checked rows of every split."""
    splits = splits_of(task)
    check_rows(task, splits, str(task_path))
    _vet_folder(workspace, task, task_path, fingerprint(task))
    return splits


def _check_free(workspace: Path) -> None:
    """Refuse early, writing nothing, when another process holds the workspace lock."""
    try:
        fd = os.open(workspace / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return  # no lock file: nobody ever ran here
    try:
        if str(workspace.resolve()) not in _HELD or _HELD[str(workspace.resolve())].fd < 0:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        raise WorkspaceError(
            f"{workspace}: another trex run is using this workspace (PID {holder}); wait for it or stop it"
        ) from None
    finally:
        os.close(fd)


def _vet_folder(workspace: Path, task: TaskSpec, task_path: Path, given: dict[str, str]) -> None:
    if check_folder(workspace):
        _check_free(workspace)
        meta = _stored_meta(workspace)
        stored = meta.get("task_fingerprint")
        name = meta.get("task_name")
        if stored is None and name is not None and name != task.name:
            raise WorkspaceError(f"{workspace} holds a run of task {name!r}; use another --workspace or trex resume")
        difference = first_difference(stored, given) if stored is not None else None
        if difference is not None:
            raise WorkspaceError(
                f"{task_path}: not the task that {workspace} holds ({name!r}); first difference: {difference}. "
                f"Use another --workspace, or `trex resume {workspace}` to go on with the stored task"
            )


def open_run(
    workspace: Path, task: TaskSpec, task_path: Path, options: RunOptions, splits: dict[str, Rows] | None = None
) -> tuple[Store, TaskSpec]:
    """Check data, folder and task, take the lock, record the task; the store and the task as jobs read it.

    ``splits`` from ``vet_run`` skips reading the data again.
    """
    workspace = Path(workspace)
    if splits is None:
        splits = vet_run(workspace, task, task_path)
    given = fingerprint(task)
    _vet_folder(workspace, task, task_path, given)  # again: the lock below is what makes it final
    store, _ = _lock_and_open(workspace)
    meta_fingerprint = store.get_meta("task_fingerprint")
    if meta_fingerprint is not None and (difference := first_difference(meta_fingerprint, given)):
        store.close()  # a run of another task started between the check and the lock
        raise WorkspaceError(f"{task_path}: not the task that {workspace} holds; first difference: {difference}")
    if store.get_meta("task_name") is None:
        (workspace / "task.yaml").write_text(task_path.read_text(encoding="utf-8"), encoding="utf-8")
        options_json = options.model_dump()
        options_json["llm_base_url"] = strip_credentials(options_json.get("llm_base_url"))
        store.set_metas(
            {
                "task_dir": str(task_path.parent.resolve()),
                "objective": task.objective,
                "reference_score": task.reference_score,
                "options": options_json,
                "task_name": task.name,
                "task_fingerprint": given,
            }
        )
    elif store.get_meta("task_fingerprint") is None:
        store.set_meta("task_fingerprint", given)
    return store, prepare_data(task, splits, workspace)


def start_run(workspace: Path, task: TaskSpec, task_path: Path, options: RunOptions) -> tuple[Store, TaskSpec]:
    """Open a workspace for a new run (see ``open_run``): the store, and the task as its jobs read it (the split of
    ``eval.split`` and transcoded files in ``<workspace>/data/``), which is the task to hand the loop."""
    return open_run(Path(workspace), task, task_path, options)


def open_resume(workspace: Path) -> tuple[Store, TaskSpec]:
    """The stored run and its stored task; refuses a workspace whose data files changed since it started."""
    workspace = Path(workspace)
    if workspace.exists() and not workspace.is_dir():
        raise WorkspaceError(f"{workspace}: is a file, not a workspace folder")
    meta = _stored_meta(workspace)
    _check_free(workspace)
    task_file = workspace / "task.yaml"
    task = load_task(task_file, base_dir=Path(meta.get("task_dir", str(workspace))))
    splits = splits_of(task)
    check_rows(task, splits, str(task_file))
    stored = meta.get("task_fingerprint")
    if stored is not None:
        changed = {k: v for k, v in fingerprint(task).items() if k.startswith("data file ")}
        difference = first_difference({k: v for k, v in stored.items() if k.startswith("data file ")}, changed)
        if difference is not None:
            raise WorkspaceError(f"{workspace}: a data file changed since this run started: {difference}")
    store, _ = _lock_and_open(workspace)
    return store, prepare_data(task, splits, workspace)
