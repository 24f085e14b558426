"""Terminal progress of a running search: the tree so far and each running job with its remaining time.

``running_jobs`` reads, from a read-only store, the jobs of every unfinished node (several are in
flight on a machine with several GPUs) that have no result yet and the ``progress.json`` their
trainer leaves in the job folder (step, total, seconds so far).
``RunProgress`` shows them with rich while ``trex run`` works: one bar for the search (nodes done of
the target, best validation so far) and one per running job (steps, elapsed, time remaining); it
polls every second from its own thread and its own read-only connection, so it never slows the
search or touches its transactions. Messages of the loop print above the bars.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from trex.run.executor import job_workdir
from trex.search.tree import RUNNING
from trex.store import Store
from trex.train.common import PROGRESS_FILE


def running_jobs(store: Store) -> list[dict[str, Any]]:
    """Unfinished jobs of the unfinished nodes: node, name, step, total (None before training starts)."""
    out = []
    for node in [n for n in store.load_tree().nodes.values() if n.status == RUNNING]:
        for row in store.node_jobs(node.id):
            if row["result"] is not None:
                continue
            path = job_workdir(store.workspace, node.id, row["hash"]) / PROGRESS_FILE
            try:
                progress = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                progress = {}
            out.append(
                {"node": node.id, "name": row["name"], "step": progress.get("step"), "total": progress.get("total")}
            )
    return out


class RunProgress:
    def __init__(self, workspace: Path, target: int, console: Console) -> None:
        self.workspace = workspace
        self.target = target
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.search: TaskID | None = None
        self.jobs: dict[str, TaskID] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> RunProgress:
        self.progress.start()
        self.search = self.progress.add_task("search", total=self.target)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.progress.stop()

    def say(self, message: str) -> None:
        from rich.text import Text

        self.progress.console.print(Text.assemble(("trex", "cyan"), " ", message), highlight=False)  # no markup

    def refresh(self) -> None:
        try:
            store = Store.open_existing(self.workspace, read_only=True)
        except Exception:  # the run has not created its store yet
            return
        try:
            tree = store.load_tree()
            best = tree.best()
            done = sum(n.status != "running" for n in tree.nodes.values())
            label = f"search: best val {best.val_score:.3f} (node {best.id})" if best else "search"
            self.progress.update(self.search, completed=done, description=label)  # type: ignore[arg-type]
            current = running_jobs(store)
        finally:
            store.close()
        names = {f"node {j['node']} {j['name']}" for j in current}
        for name in list(self.jobs):
            if name not in names:
                self.progress.remove_task(self.jobs.pop(name))
        for job in current:
            name = f"node {job['node']} {job['name']}"
            if name not in self.jobs:
                self.jobs[name] = self.progress.add_task(name, total=job["total"])
            self.progress.update(self.jobs[name], completed=job["step"] or 0, total=job["total"])

    def _poll(self) -> None:
        while not self._stop.wait(1.0):
            self.refresh()
