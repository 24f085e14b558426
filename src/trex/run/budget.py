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

A wall-clock budget too small for a search gets one run instead (``one_run``). Before the root of such a
run, its base-model job also times a few steps of the task's default config (``trex.run.calibration``),
charged to the budget. When the root's configs as usually planned (``configs``
jobs of the default length on ``slots`` slots) would take more than ``ROOT_SHARE`` of the
time left, the search cannot pay for itself before the budget ends: the root's losing configs and every
job's fixed cost are steps the final model never sees, while the score still climbs with steps. Measured on
the demo task at 15 minutes on 2 cores (docs/benchmarks.md, "Equal wall-clock budget"): with a root of a
sixth of the time left the search lost to one plain run on 3 of 3 seeds (test 0.850 against 0.880), and the
learning rates it chose between scored alike at the full length (one run of lr 5e-4, 1e-3, 2e-3: validation
0.875, 0.870, 0.860), so nothing the search could find paid for the steps it cost.
The root is then one config per slot that trains for all the time left, less one fixed job cost (the
base-model job's fixed part holds a model load and the scoring of both splits: what the run's own fixed
cost and its test scoring add up to, but one load) and a ``TIME_FIT_MARGIN``, up to what one job may train
(``longest_train_s``: the job timeout less a fixed cost before training and ``AFTER_TRAIN_FACTOR`` fixed costs
after it, which the run's jobs are told to keep, ``after_train_s``, instead of the unmeasured 15% of the
timeout); the worker fits its steps and its schedule into those seconds (``TrainConfig.max_seconds``), so an
estimate that is off wastes nothing.
"""

from __future__ import annotations

import math
import time

from pydantic import BaseModel

from trex.plan import STEP_CEILING, TimedRun
from trex.runtime.job import TRAIN_SHARE, train_reserve
from trex.store import Store
from trex.task.spec import Limits
from trex.train.config import TrainConfig

# what a stored spec without these fields trained with: TrainConfig's own defaults
_DEFAULT_BATCH = TrainConfig.model_fields["batch_size"].default
_DEFAULT_ACCUMULATION = TrainConfig.model_fields["gradient_accumulation_steps"].default


class Usage(BaseModel):
    nodes: int
    wall_s: float
    gpu_hours: float
    llm_usd: float
    llm_tokens: int


class StepCost(BaseModel):
    """What a training job costs on this run's hardware: fixed seconds (process, model, data, scoring) and seconds
    per training step, as the finished jobs that trained say."""

    fixed_s: float
    step_s: float
    rows_per_step: float = 0.0  # the mean rows a measured step took (batch x accumulation; 0: not known)

    def steps_in(self, seconds: float) -> int:
        return max(0, math.floor((seconds - self.fixed_s) / self.step_s)) if self.step_s > 0 else 0


class JobEstimate(BaseModel):
    """What one job costs, as the finished jobs of the run say: mean seconds and GPUs held."""

    seconds: float
    gpus: float

    def wall_s(self, jobs: int, slots: int) -> float:
        """Seconds ``jobs`` such jobs take on ``slots`` slots: one job's time per wave."""
        return self.seconds * math.ceil(jobs / max(1, slots))


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


def _limit_at(limits: Limits, usage: Usage, gpus_in_use: int) -> float | None:
    """Epoch seconds at which the nearer of the wall-clock and GPU-hour limits is reached, or None for neither."""
    remaining = []
    if limits.wall_clock_minutes is not None:
        remaining.append(limits.wall_clock_minutes * 60 - usage.wall_s)
    if limits.gpu_hours is not None and gpus_in_use > 0:
        remaining.append((limits.gpu_hours - usage.gpu_hours) * 3600 / gpus_in_use)
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


def job_estimate(store: Store) -> JobEstimate | None:
    """Mean seconds and GPUs of the finished jobs that trained (all finished jobs when none trained yet)."""
    row = store.conn.execute(
        "SELECT AVG(json_extract(result, '$.seconds')), AVG(json_extract(result, '$.gpus')), COUNT(*) FROM jobs"
        " WHERE result IS NOT NULL AND json_extract(spec, '$.train') IS NOT NULL"
    ).fetchone()
    if not row[2]:
        row = store.conn.execute(
            "SELECT AVG(json_extract(result, '$.seconds')), AVG(json_extract(result, '$.gpus')), COUNT(*) FROM jobs"
            " WHERE result IS NOT NULL"
        ).fetchone()
    return JobEstimate(seconds=float(row[0] or 0.0), gpus=float(row[1] or 0.0)) if row[2] else None


def step_cost(store: Store) -> StepCost | None:
    """Fixed and per-step seconds from the finished jobs that trained, the calibration of a wall-clock run's
    base-model job included (its fixed part then also holds the base model's scoring: an overestimate, on the
    safe side); None before any has."""
    trained = "SELECT json_extract(result, '$.seconds'), json_extract(result, '$.{0}.seconds'),"
    trained += " json_extract(result, '$.{0}.steps'),"
    trained += f" COALESCE(json_extract(spec, '$.{{1}}.batch_size'), {_DEFAULT_BATCH})"
    trained += f" * COALESCE(json_extract(spec, '$.{{1}}.gradient_accumulation_steps'), {_DEFAULT_ACCUMULATION})"
    trained += " FROM jobs"
    trained += " WHERE result IS NOT NULL AND json_extract(result, '$.status') = 'ok'"
    trained += " AND json_extract(result, '$.{0}.steps') > 0"
    query = f"{trained.format('train', 'train')} UNION ALL {trained.format('calibration', 'calibrate')}"
    rows = store.conn.execute(query).fetchall()
    if not rows:
        return None
    fixed = sum(max(0.0, total - train) for total, train, _, _ in rows) / len(rows)
    steps = sum(n for _, _, n, _ in rows)
    return StepCost(
        fixed_s=fixed,
        step_s=sum(train for _, train, _, _ in rows) / steps,
        rows_per_step=sum(n * batch for _, _, n, batch in rows) / steps,
    )


# A root that takes more of the time left costs the final model more steps than a search of its size can win
# back: at 1/3 (and a measured sixth) trex lost to one plain run at 15 minutes on 2 cores; at 1/8 a search loses
# at most about a sixteenth of the final model's steps to the root's losing configs (two configs a plan).
ROOT_SHARE = 1 / 8
TIME_FIT_MARGIN = 0.95  # timed runs fit their steps to the time: only the fixed costs' error needs a margin


def one_run(
    limits: Limits, usage: Usage, cost: StepCost | None, configs: int, default_steps: int, slots: int
) -> TimedRun | None:
    """One run per slot instead of a search, when the root as usually planned would take more than ``ROOT_SHARE``
    of the wall clock left (None: search as usual, or no wall-clock limit, or nothing measured)."""
    if limits.wall_clock_minutes is None or cost is None or cost.step_s <= 0:
        return None
    left = limits.wall_clock_minutes * 60 - usage.wall_s  # the base-model job, which measured the cost, is done
    root_s = math.ceil(configs / max(1, slots)) * (cost.fixed_s + default_steps * cost.step_s)
    if root_s <= left * ROOT_SHARE:
        return None
    # one fixed cost pays for both the run's own (load, validation scoring, save) and its test scoring: the fixed
    # part measured by the base-model job already holds a load and the scoring of both splits
    return timed(limits, cost, left * TIME_FIT_MARGIN - cost.fixed_s)


MIN_FINAL_STEPS = 4
# The last node's continuation trains for about this share of a wall-clock budget, or the most one job may: on a
# budget of a few hundred steps a model's score still rises steeply with steps (the demo task at 15 minutes on 2
# cores: 0.59-0.71 at 32 steps, 0.84-0.885 at 400-480), so the final model must see most of them; the search
# gets the other third (a search runs at all only when its root takes at most ``ROOT_SHARE``; docs/benchmarks.md,
# "Equal wall-clock budget").
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
    if limits.wall_clock_minutes is None or estimate is None or cost is None or jobs_in_flight:
        return None
    left = limits.wall_clock_minutes * 60 - usage.wall_s
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
    if limits.wall_clock_minutes is None or estimate is None:
        return None
    node_s = estimate.wall_s(configs, slots)
    return max(0.0, limits.wall_clock_minutes * 60 - usage.wall_s - final_reserve(limits, node_s))


def cannot_finish(
    limits: Limits, usage: Usage, estimate: JobEstimate | None, configs: int, jobs_in_flight: int, slots: int
) -> tuple[str, str] | None:
    """(limit name, sentence) when the remaining wall clock or GPU-hours cannot pay for a new node of ``configs``
    jobs behind the ``jobs_in_flight`` already queued on ``slots`` slots; None when it can (or nothing is known)."""
    if estimate is None:
        return None
    if limits.wall_clock_minutes is not None:
        needed = estimate.wall_s(jobs_in_flight + configs, slots)
        left = limits.wall_clock_minutes * 60 - usage.wall_s
        if needed > left:
            sentence = f"the wall clock left ({left:.0f} s) cannot finish another node (~{needed:.0f} s)"
            return "wall_clock_minutes", sentence
    if limits.gpu_hours is not None and estimate.gpus > 0:
        needed = (jobs_in_flight + configs) * estimate.seconds * estimate.gpus / 3600
        left = limits.gpu_hours - usage.gpu_hours
        if needed > left:
            return "gpu_hours", f"the GPU-hours left ({left:.3f}) cannot finish another node (~{needed:.3f})"
    return None
