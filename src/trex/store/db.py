"""The store's connection and its writes: nodes, jobs, events and metadata under ``<workspace>/trex.db``.

Guarantees: WAL journal with ``synchronous=FULL``, so a committed write survives a SIGKILL or a
power cut; every state change is one transaction (a node's result and the backpropagation along
its path commit together); a job's result is keyed by the job's content hash, so a resumed run
finds what already finished and never runs it again. Plans and results are stored as JSON text
of their pydantic models. Artifacts (adapters, logs) live in files beside the database:
``nodes/<id>/jobs/<hash>/``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trex.search.tree import Node, Tree
from trex.store.ledger import attribute_llm
from trex.store.queries import Queries

if TYPE_CHECKING:
    from trex.plan import Plan
    from trex.runtime.job import Job, JobResult

SCHEMA = resources.files("trex.store").joinpath("schema.sql").read_text(encoding="utf-8")

NODE_COLUMNS = (
    "id, parent, depth, strategy, status, visits, value, reward, val_score, test_score, summary,"
    " COALESCE(insights, '')"
)


@dataclass(frozen=True)
class StoredJob:
    """A job of a node as the store holds it, decoded: its spec, and its result once it finished."""

    hash: str
    job: Job
    status: str
    result: JobResult | None
    workdir: str | None
    name: str = ""  # the config's name in its node ("" when read by hash alone)
    idx: int = -1  # its place in the node's plan


class StoreError(RuntimeError):
    """The workspace has no run, or a different one than expected."""


def _check_header(path: Path) -> None:
    """Refuse, without writing, a file that is not an SQLite database (a 0-byte or foreign ``trex.db``)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the store: {exc.strerror}") from None
    if head != b"SQLite format 3\x00":
        what = "empty" if not head else "not an SQLite database"
        raise StoreError(f"{path}: not a trex store ({what}); it was left as it is")


class Store(Queries):
    DB_FILE = "trex.db"

    def __init__(self, workspace: str | Path, read_only: bool = False) -> None:
        self.workspace = Path(workspace)
        if read_only:  # a viewer (trex serve) next to a running search: never writes, never takes the write lock
            uri = f"file:{(self.workspace / self.DB_FILE).resolve()}?mode=ro"
            self.conn = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None, check_same_thread=False)
            return
        self.workspace.mkdir(parents=True, exist_ok=True)
        # Scheduler threads report finished jobs through this connection; they are serialized by the scheduler.
        self.conn = sqlite3.connect(
            self.workspace / self.DB_FILE, timeout=30, isolation_level=None, check_same_thread=False
        )
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.executescript(SCHEMA)

    @classmethod
    def open_existing(cls, workspace: str | Path, read_only: bool = False) -> Store:
        path = Path(workspace) / cls.DB_FILE
        if Path(workspace).exists() and not Path(workspace).is_dir():
            raise StoreError(f"{workspace}: is a file, not a workspace folder")
        if not path.exists():
            raise StoreError(f"{workspace}: no trex run here (no {cls.DB_FILE})")
        _check_header(path)
        try:
            store = cls(workspace, read_only=read_only)
            store.conn.execute("SELECT 1 FROM meta LIMIT 1").fetchall()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: not a readable trex store ({exc})") from None
        return store

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # metadata -------------------------------------------------------------------------------
    def set_meta(self, key: str, value: Any) -> None:
        self.set_metas({key: value})

    def set_metas(self, values: dict[str, Any]) -> None:
        """Write several metadata keys in one transaction: all of them or none."""
        with self.transaction() as tx:
            for key, value in values.items():
                tx.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    # nodes ----------------------------------------------------------------------------------
    def add_node(
        self, parent: int | None, depth: int, strategy: str, plan_json: str, jobs: list[tuple[str, str, str]]
    ) -> int:
        """Insert a running node with its plan and its jobs (hash, spec JSON, name) in one transaction."""
        with self.transaction() as tx:
            cur = tx.execute(
                "INSERT INTO nodes(parent, depth, strategy, status, plan, created) VALUES (?, ?, ?, 'running', ?, ?)",
                (parent, depth, strategy, plan_json, time.time()),
            )
            node_id = int(cur.lastrowid)
            for idx, (job_hash, spec, name) in enumerate(jobs):
                tx.execute("INSERT OR IGNORE INTO jobs(hash, spec, status) VALUES (?, ?, 'pending')", (job_hash, spec))
                tx.execute(
                    "INSERT INTO node_jobs(node_id, idx, hash, name) VALUES (?, ?, ?, ?)",
                    (node_id, idx, job_hash, name),
                )
            self._event(tx, "node_created", node_id, {"parent": parent, "strategy": strategy, "jobs": len(jobs)})
            attribute_llm(tx, node_id)  # the LLM tokens of its plan
        return node_id

    def add_node_jobs(self, node_id: int, jobs: list[tuple[str, str, str]], event: dict[str, Any]) -> None:
        """Append jobs (hash, spec JSON, name) to a node, with an event saying why, in one transaction."""
        with self.transaction() as tx:
            last = tx.execute("SELECT COALESCE(MAX(idx), -1) FROM node_jobs WHERE node_id = ?", (node_id,)).fetchone()
            for offset, (job_hash, spec, name) in enumerate(jobs, start=1):
                tx.execute("INSERT OR IGNORE INTO jobs(hash, spec, status) VALUES (?, ?, 'pending')", (job_hash, spec))
                tx.execute(
                    "INSERT INTO node_jobs(node_id, idx, hash, name) VALUES (?, ?, ?, ?)",
                    (node_id, last[0] + offset, job_hash, name),
                )
            self._event(tx, event.pop("kind", "node_jobs_added"), node_id, event)
            attribute_llm(tx, node_id)  # the LLM tokens of its repair

    def finish_node(
        self, node: Node, best_job: str | None, insights: str, error: str | None, path: list[Node]
    ) -> None:
        """Record a node's outcome and the backpropagated visits/values of its path, atomically."""
        with self.transaction() as tx:
            tx.execute(
                "UPDATE nodes SET status=?, reward=?, val_score=?, test_score=?, best_job=?, summary=?, insights=?,"
                " error=?, finished=? WHERE id=?",
                (
                    node.status,
                    node.reward,
                    node.val_score,
                    node.test_score,
                    best_job,
                    node.summary,
                    insights,
                    error,
                    time.time(),
                    node.id,
                ),
            )
            for n in path:
                tx.execute("UPDATE nodes SET visits=?, value=? WHERE id=?", (n.visits, n.value, n.id))
            self._event(
                tx,
                "node_finished",
                node.id,
                {"status": node.status, "reward": node.reward, "val_score": node.val_score},
            )
            attribute_llm(tx, node.id)  # the LLM tokens of its verdict

    def load_tree(self) -> Tree:
        rows = self.conn.execute(f"SELECT {NODE_COLUMNS} FROM nodes ORDER BY id").fetchall()
        tree = Tree([Node(*row) for row in rows])
        for node_id, drift in self.node_drifts().items():  # a general-ability drift past max_drop: marked, maybe gated
            if drift.flagged:
                tree.nodes[node_id].flag, tree.nodes[node_id].gated = drift.note, drift.gate
        return tree

    def node_row(self, node_id: int) -> dict[str, Any]:
        cur = self.conn.execute("SELECT * FROM nodes WHERE id = ?", (node_id,))
        row = cur.fetchone()
        if row is None:
            raise StoreError(f"no node {node_id}")
        return dict(zip([d[0] for d in cur.description], row, strict=True))

    def node_plan(self, node_id: int) -> Plan:
        from trex.plan import Plan  # the spec modules import torch: only callers that run jobs pay it

        return Plan.model_validate_json(self.node_row(node_id)["plan"])

    # jobs -----------------------------------------------------------------------------------
    def jobs_of(self, node_id: int) -> list[StoredJob]:
        """The node's jobs in order, decoded into ``Job`` and ``JobResult``."""
        return [_decode_job(r) for r in self.node_jobs(node_id)]

    def node_jobs(self, node_id: int) -> list[dict[str, Any]]:
        """Raw rows (JSON text) for the views (status, report), which must not import the spec modules."""
        cur = self.conn.execute(
            "SELECT nj.idx, nj.name, j.hash, j.spec, j.status, j.result, j.workdir FROM node_jobs nj"
            " JOIN jobs j ON j.hash = nj.hash WHERE nj.node_id = ? ORDER BY nj.idx",
            (node_id,),
        )
        return [dict(zip([d[0] for d in cur.description], row, strict=True)) for row in cur.fetchall()]

    def job(self, job_hash: str) -> StoredJob | None:
        cur = self.conn.execute("SELECT hash, spec, status, result, workdir FROM jobs WHERE hash = ?", (job_hash,))
        row = cur.fetchone()
        return _decode_job(dict(zip([d[0] for d in cur.description], row, strict=True))) if row else None

    def add_job(self, job_hash: str, spec: str) -> None:
        """A job before its node exists (a wall-clock run's timing base-model job), recorded like any other."""
        with self.transaction() as tx:
            tx.execute("INSERT OR IGNORE INTO jobs(hash, spec, status) VALUES (?, ?, 'pending')", (job_hash, spec))

    def finish_job(self, job_hash: str, status: str, result_json: str, workdir: str) -> None:
        with self.transaction() as tx:
            tx.execute(
                "UPDATE jobs SET status=?, result=?, workdir=?, finished=? WHERE hash=?",
                (status, result_json, workdir, time.time(), job_hash),
            )
            self._event(tx, "job_finished", None, {"hash": job_hash, "status": status})

    def set_job_test(self, job_hash: str, test_json: str, seconds: float) -> None:
        """Add a finished job's test score (scored on demand, in a worker of its own) to its result and to every
        node it won; the scoring's seconds count toward the job's GPU-hours."""
        with self.transaction() as tx:
            tx.execute(
                "UPDATE jobs SET result = json_set(result, '$.test', json(?), '$.seconds',"
                " json_extract(result, '$.seconds') + ?) WHERE hash = ?",
                (test_json, seconds, job_hash),
            )
            value = json.loads(test_json)["score"]["value"]
            tx.execute("UPDATE nodes SET test_score = ? WHERE best_job = ?", (value, job_hash))
            self._event(tx, "test_scored", None, {"hash": job_hash, "test": value})

    def gpu_hours(self) -> float:
        """GPU-hours of every recorded job: its seconds times the GPUs it held."""
        query = "SELECT SUM(json_extract(result, '$.seconds') * json_extract(result, '$.gpus')) FROM jobs"
        total = self.conn.execute(query + " WHERE result IS NOT NULL").fetchone()[0]
        return float(total or 0.0) / 3600.0

    def count_finished_jobs(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM jobs WHERE status IN ('ok', 'failed')").fetchone()[0])

    # events ---------------------------------------------------------------------------------
    def _event(self, tx: sqlite3.Connection, kind: str, node_id: int | None, data: dict[str, Any]) -> None:
        tx.execute(
            "INSERT INTO events(ts, kind, node_id, data) VALUES (?, ?, ?, ?)",
            (time.time(), kind, node_id, json.dumps(data)),
        )

    def event(self, kind: str, node_id: int | None = None, **data: Any) -> None:
        with self.transaction() as tx:
            self._event(tx, kind, node_id, data)

    def last_event_id(self) -> int:
        """Grows with every change of the run: what a live view compares to know it is stale."""
        return int(self.conn.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0])

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        query = "SELECT id, ts, kind, node_id, data FROM events"
        rows = self.conn.execute(query + (" WHERE kind = ?" if kind else "") + " ORDER BY id", (kind,) if kind else ())
        return [{"id": r[0], "ts": r[1], "kind": r[2], "node_id": r[3], "data": json.loads(r[4])} for r in rows]


def _decode_job(row: dict[str, Any]) -> StoredJob:
    from trex.runtime.job import Job, JobResult  # the spec modules import torch: only callers that run jobs pay it

    return StoredJob(
        hash=row["hash"],
        job=Job.model_validate_json(row["spec"]),
        status=row["status"],
        result=JobResult.model_validate_json(row["result"]) if row["result"] is not None else None,
        workdir=row["workdir"],
        name=row.get("name", ""),
        idx=row.get("idx", -1),
    )
