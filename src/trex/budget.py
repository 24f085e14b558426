"""Budgets of a run: what it has used, and which limit, if any, stops it.

Usage is read from the store, so it survives kills and resumes: wall-clock seconds accumulate
over every session of the run (meta ``elapsed_s``, written after each node), GPU-hours are the sum
over recorded jobs of seconds x GPUs used, and LLM tokens and USD are the researcher's running
totals (meta ``llm_usage``). ``exhausted`` names the first limit reached, in a sentence the CLI
and the report show. ``job_deadline`` is the epoch time at which running jobs are cancelled: the
wall-clock or GPU-hour limit plus a grace period. A cancelled job is not recorded, so a resume
with a larger budget runs it again and nothing finished is lost.
"""

from __future__ import annotations

import time

from pydantic import BaseModel

from trex.store import Store
from trex.task import Limits


class Usage(BaseModel):
    nodes: int
    wall_s: float
    gpu_hours: float
    llm_usd: float
    llm_tokens: int


def read_usage(store: Store, nodes: int, session_start: float | None = None, elapsed_before: float = 0.0) -> Usage:
    """Usage so far; ``session_start`` is a running session's ``time.time()`` at start (None: the wall clock as
    recorded after the last finished node)."""
    llm = store.get_meta("llm_usage") or {}
    stored_wall = float(store.get_meta("elapsed_s", 0.0))
    return Usage(
        nodes=nodes,
        wall_s=elapsed_before + (time.time() - session_start) if session_start is not None else stored_wall,
        gpu_hours=store.gpu_hours(),
        llm_usd=float(llm.get("usd", 0.0)),
        llm_tokens=int(llm.get("prompt_tokens", 0)) + int(llm.get("completion_tokens", 0)),
    )


def exhausted(limits: Limits, usage: Usage, target_nodes: int | None = None) -> tuple[str, str] | None:
    """(limit name, sentence) for the first limit reached, or None while the search may go on.

    ``target_nodes`` None leaves the node count out (the budget limits only).
    """
    if target_nodes is not None and usage.nodes >= target_nodes:
        return "iterations", f"reached {target_nodes} nodes"
    if limits.wall_clock_minutes is not None and usage.wall_s >= limits.wall_clock_minutes * 60:
        return "wall_clock_minutes", f"wall-clock limit of {limits.wall_clock_minutes:g} minutes reached"
    if limits.gpu_hours is not None and usage.gpu_hours >= limits.gpu_hours:
        return "gpu_hours", f"GPU-hour limit of {limits.gpu_hours:g} reached ({usage.gpu_hours:.3f} used)"
    if limits.llm_usd is not None and usage.llm_usd >= limits.llm_usd:
        return "llm_usd", f"LLM budget of {limits.llm_usd:g} USD reached ({usage.llm_usd:.4f} USD spent)"
    return None


def job_deadline(limits: Limits, usage: Usage, gpus_in_use: int) -> float | None:
    """Epoch seconds after which running jobs are cancelled (limit + grace), or None for no deadline."""
    now = time.time()
    remaining = []
    if limits.wall_clock_minutes is not None:
        remaining.append(limits.wall_clock_minutes * 60 - usage.wall_s)
    if limits.gpu_hours is not None and gpus_in_use > 0:
        remaining.append((limits.gpu_hours - usage.gpu_hours) * 3600 / gpus_in_use)
    if not remaining:
        return None
    return now + max(0.0, min(remaining)) + limits.grace_minutes * 60
