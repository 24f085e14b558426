"""Budgets of a run: what it has used, and which limit, if any, stops it.

Usage is read from the store, so it survives kills and resumes: wall-clock seconds accumulate
over every session of the run (meta ``elapsed_s``, written after each node), GPU-hours are the sum
over recorded jobs of seconds x GPUs used plus what the jobs in flight have held so far, and LLM
tokens and USD are the researcher's running totals (meta ``llm_usage``). ``exhausted`` names the
first limit reached, in a sentence the CLI and the report show. ``job_deadline`` is the epoch time
at which running jobs are cancelled: the wall-clock or GPU-hour limit plus a grace period, the
GPU-hours left divided by the GPUs every job in flight holds. ``train_deadline`` is when a job's training must end to
finish before the limit itself. A cancelled job is not recorded, so
a resume with a larger budget runs it again and nothing finished is lost. ``cannot_finish``
refuses a new node the remaining budget cannot pay for, estimating a job from the finished ones
(no estimate before the first job finishes: the root always starts).

The last node of a wall-clock budget fills it: ``final_run`` says when one more node of the usual size
would leave less than the last node's reserve (``final_reserve``: another node's time, or ``FINAL_SHARE``
of the budget up to what one job may train), so the node about to start is the last one, and how long one
wave of configs can then train, from the run's measured ``StepCost`` (fixed seconds per job, seconds
per step), keeping back the test scoring of the run's best node and a 5% margin; the worker fits the
steps and schedule into those seconds, as for a one-run root. The loop then expands the best node
and the researcher continues its best config for that time (``trex.agents.researcher``): compute that would
have gone to a node cut off by the budget, or to no node at all, trains the incumbent further. A search
node's configs are capped at what leaves that reserve intact (``search_seconds``): a long from-scratch
proposal cannot eat the time of the final model.
Wall-clock budgets only: a node count or GPU-hours leave the tree as it is.

A wall-clock budget too small for a search gets one run instead (``one_run``): when the root as usually planned
(``configs`` jobs of the default length on ``slots`` slots) would take more than ``ROOT_SHARE`` of the time left,
its losing configs and every job's fixed cost are steps the final model never sees, while the score still climbs
with steps. The root is then one config per slot that trains for all the time left, less one fixed job cost and a
``TIME_FIT_MARGIN``, up to what one job may train (``longest_train_s``); the worker fits its steps and schedule into
those seconds (``TrainConfig.max_seconds``), so an estimate that is off wastes nothing. Why these shares: the
benchmark page docs/benchmarks/equal-budget.md.

The wall clock left is ``wall_left_s``, the one place it is computed; ``costs`` measures what a job costs.
"""

from __future__ import annotations

import math
import time

from pydantic import BaseModel

from trex.plan import STEP_CEILING, ProbeRoot, TimedRun
from trex.run.costs import JobEstimate, StepCost
from trex.runtime.job import TRAIN_SHARE, train_reserve
from trex.store import Store
from trex.task.spec import Limits


class Usage(BaseModel):
    nodes: int
    wall_s: float
    gpu_hours: float
    llm_usd: float
    llm_tokens: int


def read_usage(
    store: Store,
    nodes: int,
    session_start: float | None = None,
    elapsed_before: float = 0.0,
    running_gpu_s: float = 0.0,
) -> Usage:
    """Usage so far; ``session_start`` is a running session's ``time.time()`` at start (None: the wall clock as
    recorded after the last finished node); ``running_gpu_s`` the GPU-seconds the jobs in flight have held."""
    llm = store.get_meta("llm_usage") or {}
    stored_wall = float(store.get_meta("elapsed_s", 0.0))
    return Usage(
        nodes=nodes,
        wall_s=elapsed_before + (time.time() - session_start) if session_start is not None else stored_wall,
        gpu_hours=store.gpu_hours() + running_gpu_s / 3600.0,
        llm_usd=float(llm.get("usd", 0.0)),
        llm_tokens=int(llm.get("prompt_tokens", 0)) + int(llm.get("completion_tokens", 0)),
    )


def wall_left_s(limits: Limits, usage: Usage) -> float | None:
    """Seconds of the wall-clock budget left (negative once past it); None without a wall-clock limit."""
    return None if limits.wall_clock_minutes is None else limits.wall_clock_minutes * 60 - usage.wall_s


def gpu_hours_left(limits: Limits, usage: Usage) -> float | None:
    """GPU-hours of the budget left (negative once past it); None without a GPU-hour limit."""
    return None if limits.gpu_hours is None else limits.gpu_hours - usage.gpu_hours


def exhausted(limits: Limits, usage: Usage, target_nodes: int | None = None) -> tuple[str, str] | None:
    """(limit name, sentence) for the first limit reached, or None while the search may go on.

    ``target_nodes`` None leaves the node count out (the budget limits only).
    """
    if target_nodes is not None and usage.nodes >= target_nodes:
        return "iterations", f"reached {target_nodes} nodes"
    if (wall := wall_left_s(limits, usage)) is not None and wall <= 0:
        return "wall_clock_minutes", f"wall-clock limit of {limits.wall_clock_minutes:g} minutes reached"
    if (gpu_left := gpu_hours_left(limits, usage)) is not None and gpu_left <= 0:
        return "gpu_hours", f"GPU-hour limit of {limits.gpu_hours:g} reached ({usage.gpu_hours:.3f} used)"
    if limits.llm_usd is not None and usage.llm_usd >= limits.llm_usd:
        return "llm_usd", f"LLM budget of {limits.llm_usd:g} USD reached ({usage.llm_usd:.4f} USD spent)"
    return None


def _limit_at(limits: Limits, usage: Usage, gpus_in_use: int) -> float | None:
    """Epoch seconds at which the nearer of the wall-clock and GPU-hour limits is reached, or None for neither."""
    remaining = []
    if (wall := wall_left_s(limits, usage)) is not None:
        remaining.append(wall)
    if limits.gpu_hours is not None and gpus_in_use > 0:
        remaining.append(gpu_hours_left(limits, usage) * 3600 / gpus_in_use)
    return time.time() + max(0.0, min(remaining)) if remaining else None


def job_deadline(limits: Limits, usage: Usage, gpus_in_use: int) -> float | None:
    """Epoch seconds after which running jobs are cancelled (limit + grace), or None for no deadline."""
    at = _limit_at(limits, usage, gpus_in_use)
    return None if at is None else at + limits.grace_minutes * 60


def train_deadline(limits: Limits, usage: Usage, gpus_in_use: int, cost: StepCost | None) -> float | None:
    """Epoch seconds by which a job's training must end so that the job, and the test scoring of the run's best
    node after it, finish before the limit (not its grace): the limit less two fixed job costs, none before
    anything is measured. The worker fits its steps and schedule to end by then (``JobRequest.train_until``):
    a job the search planned from a pace the machine no longer keeps trains fewer steps instead of running
    into the grace period, where the run's last node would have had its time. None: no such limit."""
    at = _limit_at(limits, usage, gpus_in_use)
    return None if at is None else at - (2 * cost.fixed_s if cost is not None else 0.0)


# A root that takes more of the time left costs the final model more steps than a search of its size can win
# back (docs/benchmarks/equal-budget.md); at 1/8 a search loses at most about a sixteenth of the final model's
# steps to the root's losing configs (two configs a plan).
ROOT_SHARE = 1 / 8
TIME_FIT_MARGIN = 0.95  # timed runs fit their steps to the time: only the fixed costs' error needs a margin


def one_run(
    limits: Limits, usage: Usage, cost: StepCost | None, configs: int, default_steps: int, slots: int
) -> TimedRun | None:
    """One run per slot instead of a search, when the root as usually planned would take more than ``ROOT_SHARE``
    of the wall clock left (None: search as usual, or no wall-clock limit, or nothing measured)."""
    left = wall_left_s(limits, usage)  # the base-model job, which measured the cost, is done
    if left is None or cost is None or cost.step_s <= 0:
        return None
    root_s = math.ceil(configs / max(1, slots)) * (cost.fixed_s + default_steps * cost.step_s)
    if root_s <= left * ROOT_SHARE:
        return None
    # one fixed cost pays for both the run's own (load, validation scoring, save) and its test scoring: the fixed
    # part measured by the base-model job already holds a load and the scoring of both splits
    return timed(limits, cost, left * TIME_FIT_MARGIN - cost.fixed_s)


# A budget too small for a search pays for a few short probes before its one long run (``trex.agents.root_probes``):
# at most this share of the time left, each probe ``PROBE_STEPS`` steps (docs/benchmarks/probes.md).
PROBE_SHARE = 1 / 4
PROBE_STEPS = 24
MAX_PROBES = 3  # on one slot; a probe per slot beyond that, up to a plan's five configs


def probe_root(limits: Limits, usage: Usage, cost: StepCost | None, slots: int) -> ProbeRoot | None:
    """The root's probes when they fit in ``PROBE_SHARE`` of the wall clock left (as many as fit, from
    ``MAX_PROBES`` or one per slot down to two); None: not even two do, or nothing is measured."""
    left = wall_left_s(limits, usage)
    if left is None or cost is None or cost.step_s <= 0:
        return None
    for n in range(min(5, max(MAX_PROBES, slots)), 1, -1):
        if math.ceil(n / max(1, slots)) * (cost.fixed_s + PROBE_STEPS * cost.step_s) <= left * PROBE_SHARE:
            return ProbeRoot(configs=n, steps=PROBE_STEPS)
    return None


def long_run(limits: Limits, usage: Usage, cost: StepCost | None) -> TimedRun | None:
    """After the probes, the one long run: all the time left, less its own fixed cost and the test scoring of the
    run's best node (a fixed cost each) and ``TIME_FIT_MARGIN`` (None: no wall clock or nothing measured)."""
    left = wall_left_s(limits, usage)
    if left is None or cost is None or cost.step_s <= 0:
        return None
    return timed(limits, cost, left * TIME_FIT_MARGIN - 2 * cost.fixed_s)


MIN_FINAL_STEPS = 4
# The last node's continuation trains for about this share of a wall-clock budget, or the most one job may: on a
# budget of a few hundred steps a model's score still rises steeply with steps, so the final model must see most
# of them; the search gets the other third (docs/benchmarks/equal-budget.md).
FINAL_SHARE = 2 / 3


# What a job keeps back after its training, as a multiple of the run's measured fixed cost per job (which holds a
# model load and the scoring of both splits, more than a trained job does after training): scoring and saving
# take about half of it, so twice it leaves room for a machine that slows by a factor of four.
AFTER_TRAIN_FACTOR = 2.0
MIN_AFTER_TRAIN_S = 10.0  # and never less than this (a process exit, a checkpoint write on a slow disk)


def after_train_s(cost: StepCost | None) -> float | None:
    """Seconds a job of this run keeps after its training for scoring and saving (``JobRequest.after_train_s``);
    None before anything is measured (the worker then keeps ``1 - TRAIN_SHARE`` of the timeout)."""
    return None if cost is None else max(MIN_AFTER_TRAIN_S, AFTER_TRAIN_FACTOR * cost.fixed_s)


def longest_train_s(limits: Limits, cost: StepCost) -> float:
    """The most seconds one job of this run may train: its timeout less a fixed cost before training and what it
    keeps after (``train_reserve``)."""
    timeout_s = limits.job_timeout_minutes * 60
    return timeout_s - cost.fixed_s - train_reserve(timeout_s, after_train_s(cost))


def timed(limits: Limits, cost: StepCost, seconds: float) -> TimedRun | None:
    """``seconds`` of training (never past what one job may train, ``longest_train_s``), at most
    ``STEP_CEILING`` times the steps the measured pace fits in them (the pace may be faster than timed; the worker's
    own timing decides); None below ``MIN_FINAL_STEPS``."""
    seconds = min(seconds, longest_train_s(limits, cost))
    steps = math.floor(seconds / cost.step_s) if cost.step_s > 0 else 0
    if steps < MIN_FINAL_STEPS:
        return None
    return TimedRun(steps=steps * STEP_CEILING, seconds=round(seconds, 1))


def final_run(
    limits: Limits,
    usage: Usage,
    estimate: JobEstimate | None,
    cost: StepCost | None,
    configs: int,
    slots: int,
    jobs_in_flight: int,
) -> TimedRun | None:
    """The training of each config of the run's last node, fitted to the time left, when the node about to start
    is the last one the wall clock can pay for (None otherwise, or when nothing is measured yet or other jobs are
    in flight).

    Last: after one more node of ``configs`` jobs of the usual cost on ``slots`` slots, the time left would be less
    than ``final_reserve``: another node's time, or ``FINAL_SHARE`` of the budget up to what one job may train.
    Its configs run in one wave (``min(configs, slots)`` of them) and train for the time left less
    ``TIME_FIT_MARGIN``, their own fixed cost and the test scoring of the run's best node (a job's fixed cost
    each: a trained job's fixed part holds no test scoring). Fewer than ``MIN_FINAL_STEPS``: None."""
    left = wall_left_s(limits, usage)
    if left is None or estimate is None or cost is None or jobs_in_flight:
        return None
    node_s = estimate.wall_s(configs, slots)
    if left - node_s >= final_reserve(limits, node_s):
        return None
    return timed(limits, cost, left * TIME_FIT_MARGIN - 2 * cost.fixed_s)


def final_reserve(limits: Limits, node_s: float) -> float:
    """Seconds of a wall-clock budget kept for its last node: one node's time (``node_s``), or ``FINAL_SHARE`` of
    the budget, up to what one job may train (``TRAIN_SHARE`` of its timeout), whichever is more."""
    assert limits.wall_clock_minutes is not None
    longest = limits.job_timeout_minutes * 60 * TRAIN_SHARE
    return max(node_s, min(FINAL_SHARE * limits.wall_clock_minutes * 60, longest))


def search_seconds(
    limits: Limits, usage: Usage, estimate: JobEstimate | None, configs: int, slots: int
) -> float | None:
    """Seconds a search node (not the last) may take without eating into the last node's reserve (None: no
    wall-clock limit, or nothing measured yet)."""
    left = wall_left_s(limits, usage)
    if left is None or estimate is None:
        return None
    return max(0.0, left - final_reserve(limits, estimate.wall_s(configs, slots)))


def cannot_finish(
    limits: Limits, usage: Usage, estimate: JobEstimate | None, configs: int, jobs_in_flight: int, slots: int
) -> tuple[str, str] | None:
    """(limit name, sentence) when the remaining wall clock or GPU-hours cannot pay for a new node of ``configs``
    jobs behind the ``jobs_in_flight`` already queued on ``slots`` slots; None when it can (or nothing is known)."""
    if estimate is None:
        return None
    if (left := wall_left_s(limits, usage)) is not None:
        needed = estimate.wall_s(jobs_in_flight + configs, slots)
        if needed > left:
            sentence = f"the wall clock left ({left:.0f} s) cannot finish another node (~{needed:.0f} s)"
            return "wall_clock_minutes", sentence
    if limits.gpu_hours is not None and estimate.gpus > 0:
        needed = (jobs_in_flight + configs) * estimate.seconds * estimate.gpus / 3600
        left = gpu_hours_left(limits, usage)
        if needed > left:
            return "gpu_hours", f"the GPU-hours left ({left:.3f}) cannot finish another node (~{needed:.3f})"
    return None
