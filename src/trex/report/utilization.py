"""Where the jobs ran and how busy the slots were: the nodes in flight, each job's GPU, a band chart of busy slots.

``job_spans`` reads every job of the run with its GPU and its time span: a finished job from its
result (``gpu_ids``, ``seconds``) and the time it was recorded; a running one from the
``running.json`` its worker wrote when it started (a job still waiting for a slot has none).
``in_flight`` groups the unfinished nodes' jobs (status ``queued`` or ``running`` on a GPU).
``utilization_section`` draws the busy slots over time as a band (one row per slot, filled while
a job held it) with the mean utilization: what the live view (``trex serve``) shows. A span of a
killed session may show as running until the resume reruns its job.
"""

from __future__ import annotations

import html
import json
import time
from pathlib import Path
from typing import Any

from trex.store import Store

RUNNING_FILE = "running.json"  # written by trex.runtime.base.run_worker (not imported: the views stay light)
WIDTH, ROW, LEFT = 720, 10, 56


def _running(workdir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((workdir / RUNNING_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def in_flight(store: Store) -> list[dict[str, Any]]:
    """The unfinished nodes with their unfinished jobs: name, hash, state (queued / running), GPU, start."""
    out = []
    for node_id in store.running_node_ids():
        jobs = []
        for row in store.node_jobs(node_id):
            if row["result"] is not None:
                continue
            running = _running(store.workspace / "nodes" / str(node_id) / "jobs" / row["hash"])
            jobs.append(
                {
                    "name": row["name"],
                    "hash": row["hash"],
                    "state": "running" if running else "queued",
                    "gpu": running.get("gpu") if running else None,
                    "started": running.get("started") if running else None,
                }
            )
        out.append({"node": node_id, "jobs": jobs})
    return out


def job_spans(store: Store) -> list[dict[str, Any]]:
    """Every job that ran or runs: gpu (None on CPU), start and end (None while it runs), epoch seconds."""
    spans = [{"gpu": gpu, "start": end - seconds, "end": end} for gpu, seconds, end in store.finished_job_spans()]
    for node in in_flight(store):
        spans.extend(
            {"gpu": j["gpu"], "start": j["started"], "end": None} for j in node["jobs"] if j["state"] == "running"
        )
    return spans


def _covered(intervals: list[tuple[float, float]]) -> float:
    """Seconds covered by at least one interval: two jobs sharing a slot (CPU jobs do) keep it busy once."""
    covered, reach = 0.0, -float("inf")
    for start, end in sorted(intervals):
        if end > reach:
            covered += end - max(start, reach)
            reach = end
    return covered


def utilization_section(store: Store) -> str:
    """The nodes in flight (with each job's GPU) and the band chart of busy slots; empty before any job ran."""
    spans = job_spans(store)
    if not spans:
        return ""
    now = time.time()
    start = min(s["start"] for s in spans)
    end = max(now if s["end"] is None else s["end"] for s in spans)
    total = max(end - start, 1e-6)
    slots = sorted({s["gpu"] or "cpu" for s in spans})
    ends = [(s["gpu"] or "cpu", s["start"], now if s["end"] is None else s["end"]) for s in spans]
    busy = sum(_covered([(a, b) for where, a, b in ends if where == slot]) for slot in slots)
    height = ROW * len(slots) + 20
    bars = []
    for s in spans:
        x = LEFT + (s["start"] - start) / total * (WIDTH - LEFT)
        w = max(1.0, ((now if s["end"] is None else s["end"]) - s["start"]) / total * (WIDTH - LEFT))
        y = slots.index(s["gpu"] or "cpu") * ROW
        colour = "#e8a33d" if s["end"] is None else "#4a7fb5"
        bars.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{ROW - 2}" fill="{colour}"/>')
    labels = "".join(
        f'<text x="0" y="{i * ROW + ROW - 2}" font-size="9">gpu {html.escape(slot)}</text>'
        for i, slot in enumerate(slots)
    )
    axis = f'<text x="{LEFT}" y="{height - 4}" font-size="9">0 s</text>'
    axis += f'<text x="{WIDTH - 40}" y="{height - 4}" font-size="9">{total:.0f} s</text>'
    chart = f'<svg width="{WIDTH}" height="{height}" role="img">{labels}{"".join(bars)}{axis}</svg>'
    share = busy / (len(slots) * total)
    rows = "".join(
        f"<li>node {n['node']}: "
        + ", ".join(
            f"{html.escape(j['name'])} "
            + (
                f"on gpu {html.escape(str(j['gpu']))}"
                if j["gpu"]
                else j["state"]
                if j["state"] == "queued"
                else "on cpu"
            )
            for j in n["jobs"]
        )
        + "</li>"
        for n in in_flight(store)
    )
    flight = f"<p>In flight:</p><ul>{rows}</ul>" if rows else "<p>No node in flight.</p>"
    return (
        f"<h3>Slots over time</h3><p>{len(slots)} slot(s) used, busy {share:.0%} of the time "
        "(blue: finished jobs, orange: running).</p>" + chart + flight
    )
