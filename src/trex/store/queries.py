"""The read-only questions the loop, the budget and the views ask of a run's database, as typed accessors.

Every SQL statement of the workspace's database lives in this package (``db`` writes, this module reads), so a
change of the schema is a change of one package. ``Store`` derives from ``Queries``.
"""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any

from trex.evaluation.drift import Drift, node_drifts

if TYPE_CHECKING:
    from trex.runtime.job import JobResult

# a job that trained: its spec has a training config (an evaluation-only job has none)
_TRAINED = "json_extract(spec, '$.train') IS NOT NULL"


class Queries:
    conn: sqlite3.Connection

    def all_meta(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self.conn.execute("SELECT key, value FROM meta")}

    def trained_jobs_per_node(self) -> dict[int, int]:
        """Node id -> how many of its jobs train (its configs; the base-model job does not train)."""
        rows = self.conn.execute(
            "SELECT nj.node_id, COUNT(*) FROM node_jobs nj JOIN jobs j ON j.hash = nj.hash"
            " WHERE json_extract(j.spec, '$.train') IS NOT NULL GROUP BY nj.node_id"
        ).fetchall()
        return {int(node): int(count) for node, count in rows}

    def running_node_ids(self) -> list[int]:
        return [int(r[0]) for r in self.conn.execute("SELECT id FROM nodes WHERE status = 'running' ORDER BY id")]

    def finished_job_spans(self) -> list[tuple[str | None, float, float]]:
        """(GPU ids or None, seconds, finished epoch time) of every finished job that took time."""
        rows = self.conn.execute(
            "SELECT json_extract(result, '$.gpu_ids'), json_extract(result, '$.seconds'), finished FROM jobs"
            " WHERE result IS NOT NULL AND json_extract(result, '$.seconds') > 0"
        ).fetchall()
        return [(gpu or None, float(seconds), float(finished)) for gpu, seconds, finished in rows]

    def finished_results(self) -> list[tuple[JobResult, str]]:
        """(result, job folder) of every finished job."""
        from trex.runtime.job import JobResult  # the spec modules import torch: only callers that need them pay it

        rows = self.conn.execute("SELECT result, workdir FROM jobs WHERE result IS NOT NULL").fetchall()
        return [(JobResult.model_validate_json(result), workdir) for result, workdir in rows]

    def finished_node_jobs(self) -> list[tuple[int, str]]:
        """(node id, job hash) of every finished job of every node, in node and config order."""
        rows = self.conn.execute(
            "SELECT nj.node_id, nj.hash FROM node_jobs nj JOIN jobs j ON j.hash = nj.hash"
            " WHERE j.result IS NOT NULL ORDER BY nj.node_id, nj.idx"
        ).fetchall()
        return [(int(node), str(job_hash)) for node, job_hash in rows]

    def job_means(self) -> tuple[float, float, int]:
        """Mean seconds, mean GPUs and count of the finished jobs that trained (of all finished jobs if none did)."""
        query = "SELECT AVG(json_extract(result, '$.seconds')), AVG(json_extract(result, '$.gpus')), COUNT(*)"
        query += " FROM jobs WHERE result IS NOT NULL"
        row = self.conn.execute(f"{query} AND {_TRAINED}").fetchone()
        if not row[2]:
            row = self.conn.execute(query).fetchone()
        return float(row[0] or 0.0), float(row[1] or 0.0), int(row[2])

    def trained_steps(self, default_batch: int, default_accumulation: int) -> list[tuple[float, float, int, int]]:
        """(job seconds, training seconds, steps, rows per step) of every successful job that trained steps, the
        calibration of a wall-clock run's base-model job included; a spec stored without batch or accumulation
        counts the given defaults (what it trained with)."""
        trained = "SELECT json_extract(result, '$.seconds'), json_extract(result, '$.{0}.seconds'),"
        trained += " json_extract(result, '$.{0}.steps'),"
        batch, accumulation = int(default_batch), int(default_accumulation)
        trained += f" COALESCE(json_extract(spec, '$.{{1}}.batch_size'), {batch})"
        trained += f" * COALESCE(json_extract(spec, '$.{{1}}.gradient_accumulation_steps'), {accumulation})"
        trained += " FROM jobs WHERE result IS NOT NULL AND json_extract(result, '$.status') = 'ok'"
        trained += " AND json_extract(result, '$.{0}.steps') > 0"
        query = f"{trained.format('train', 'train')} UNION ALL {trained.format('calibration', 'calibrate')}"
        return [(float(a), float(b), int(c), int(d)) for a, b, c, d in self.conn.execute(query).fetchall()]

    def llm_cost_per_node(self) -> dict[int, dict[str, float]]:
        """Node id -> the LLM usage charged to it (``trex.store.ledger``): prompt_tokens, completion_tokens, usd."""
        rows = self.conn.execute(
            "SELECT node_id, SUM(json_extract(data, '$.prompt_tokens')),"
            " SUM(json_extract(data, '$.completion_tokens')), SUM(json_extract(data, '$.usd'))"
            " FROM events WHERE kind = 'llm_cost' GROUP BY node_id"
        ).fetchall()
        return {int(n): {"prompt_tokens": p or 0, "completion_tokens": c or 0, "usd": u or 0.0} for n, p, c, u in rows}

    def job_seconds_per_node(self) -> dict[int, tuple[float, float]]:
        """Node id -> (seconds, GPU-seconds) of its finished jobs; a job two nodes share is charged to the first."""
        rows = self.conn.execute(
            "SELECT MIN(nj.node_id), json_extract(j.result, '$.seconds'), json_extract(j.result, '$.gpus')"
            " FROM node_jobs nj JOIN jobs j ON j.hash = nj.hash WHERE j.result IS NOT NULL GROUP BY j.hash"
        ).fetchall()
        costs: dict[int, tuple[float, float]] = {}
        for node, seconds, gpus in rows:
            spent, gpu_spent = costs.get(int(node), (0.0, 0.0))
            costs[int(node)] = (spent + float(seconds or 0.0), gpu_spent + float(seconds or 0.0) * float(gpus or 0))
        return costs

    def node_times(self) -> dict[int, tuple[float, float | None]]:
        """Node id -> (created, finished or None) as epoch times."""
        rows = self.conn.execute("SELECT id, created, finished FROM nodes").fetchall()
        return {int(n): (float(c), float(f) if f is not None else None) for n, c, f in rows}

    def score_intervals(self) -> tuple[dict[int, tuple[float, float, float]], tuple[float, float, float] | None]:
        """(node id -> (value, low, high) of its best job's validation score, the same of the base model's job)."""
        score = "json_extract(j.result, '$.validation.score.{}')"
        fields = ", ".join(score.format(k) for k in ("value", "low", "high"))
        rows = self.conn.execute(
            f"SELECT n.id, {fields} FROM nodes n JOIN jobs j ON j.hash = n.best_job WHERE n.best_job IS NOT NULL"
        ).fetchall()
        base = self.conn.execute(
            f"SELECT {fields} FROM node_jobs nj JOIN jobs j ON j.hash = nj.hash JOIN nodes n ON n.id = nj.node_id"
            " WHERE n.parent IS NULL AND json_extract(j.spec, '$.train') IS NULL AND j.result IS NOT NULL"
            f" AND {score.format('value')} IS NOT NULL ORDER BY n.id LIMIT 1"
        ).fetchone()
        nodes = {int(r[0]): (float(r[1]), float(r[2]), float(r[3])) for r in rows if r[1] is not None}
        return nodes, (float(base[0]), float(base[1]), float(base[2])) if base else None

    def node_drifts(self) -> dict[int, Drift]:
        """Node id -> the general-ability drift of its best job from the base model's job (``trex.evaluation.drift``);
        nodes whose jobs measured none (an older run's) are absent."""
        general = "json_extract(j.result, '$.general')"
        rows = self.conn.execute(
            f"SELECT n.id, {general} FROM nodes n JOIN jobs j ON j.hash = n.best_job WHERE {general} IS NOT NULL"
        ).fetchall()
        base = self.conn.execute(
            f"SELECT {general} FROM node_jobs nj JOIN jobs j ON j.hash = nj.hash JOIN nodes n ON n.id = nj.node_id"
            f" WHERE n.parent IS NULL AND json_extract(j.spec, '$.train') IS NULL AND {general} IS NOT NULL"
            " ORDER BY n.id LIMIT 1"
        ).fetchone()
        return node_drifts({int(n): str(text) for n, text in rows}, base[0] if base else None)
