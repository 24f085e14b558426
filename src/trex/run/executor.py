"""Executor: turns a Plan into Jobs, runs the ones not yet finished, and gathers their outcomes.

Every config becomes one Job (the root also gets an evaluation-only Job of the base model); a config marked
``probe`` first becomes its probe's Job, and its promotion is added to the node later (``trex.run.node_end``). Each
training recipe gets a decontamination step against the task's validation and test inputs (the
task's ``decontaminate: false`` turns it off); the rows it drops show in the job's data statistics
and in the node's insights.
Jobs are identified by content hash: a job whose hash already has a result in the store is never
run again, whichever node asked for it first, and a hash already in flight is not submitted a
second time (the second node waits for the first one's result): no job runs twice at once.
Several nodes may be in flight: ``start_node`` submits a node's unfinished jobs, ``poll`` records
jobs as they finish, whichever node they belong to, and returns the nodes with nothing left in
flight. Each finished job is committed to the store the moment it ends, so a killed run loses at
most the jobs that were running.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from trex.agents.probes import probe_config
from trex.agents.recipes import base_recipe, rows_needed
from trex.aidp.recipe import Recipe, Step
from trex.evaluation.config import RegressionConfig
from trex.plan import BASELINE, ConfigOutcome, ConfigSpec, Plan
from trex.run.integrity import META_KEY as INTEGRITY_KEY
from trex.run.integrity import expected_hashes, record_integrity
from trex.run.tracking import Tracker
from trex.runtime.base import RUNNING_FILE, Scheduler
from trex.runtime.job import Job, JobRequest, JobResult
from trex.runtime.worker import RESULT_FILE
from trex.store import Store
from trex.task.spec import TaskSpec
from trex.train.config import TrainConfig

ROW_WRITERS = ("generate_dataset_with_llm",)  # steps that add rows after the loader's


def decontaminated(recipe: Recipe, task: TaskSpec) -> Recipe:
    """The recipe with a decontamination step against the task's validation and test inputs right after
    its loader, or after its last step that writes rows (an LLM may write a copy of an evaluation row), unless it
    has one or the task turns it off (``decontaminate: false``)."""
    if not task.decontaminate or not recipe.steps or any(s.op == "decontaminate" for s in recipe.steps):
        return recipe
    guard = Step(
        op="decontaminate",
        args={"column": task.eval.input_field, "against": [task.eval.validation, task.eval.test]},
    )
    after = max((i for i, s in enumerate(recipe.steps) if s.op in ROW_WRITERS), default=0)
    return Recipe(steps=[*recipe.steps[: after + 1], guard, *recipe.steps[after + 1 :]])


def config_job(task: TaskSpec, plan: Plan, config: ConfigSpec, seed: int) -> Job:
    """The Job that trains and evaluates one config of a plan."""
    return recipe_job(task, plan.recipe_for(config), config.train, seed)


def recipe_job(task: TaskSpec, recipe: Recipe, train: TrainConfig, seed: int) -> Job:
    """The Job that trains ``train`` on ``recipe`` (decontaminated against the evaluation splits) and evaluates."""
    return Job(
        base_model=task.base_model,
        recipe=decontaminated(recipe, task),
        train=train,
        eval=task.eval,
        seed=seed,
        max_train_samples=task.limits.max_train_samples,
    )


def default_job(task: TaskSpec, seed: int, train: TrainConfig | None = None, balanced: bool = False) -> Job:
    """The task's default training config (or ``train``) as one job on the standard first recipe, a seeded sample
    of the rows it needs (label-balanced when asked): the root's first config as trex plans it, and what the
    benchmarks run beside trex (a plain run, an Optuna trial, a timed job)."""
    train = train or task.training
    return recipe_job(task, base_recipe(task, rows_needed(train), seed=seed, stratify=balanced), train, seed)


def baseline_job(task: TaskSpec, seed: int, calibrate: Plan | None = None) -> Job:
    """The evaluation of the base model as is; with ``calibrate`` (a one-config plan) it also times that config's
    training on the plan's recipe (the first job of a wall-clock run, ``trex.run.calibration``)."""
    if calibrate is None:
        return Job(base_model=task.base_model, eval=task.eval, seed=seed)
    (config,) = calibrate.configs
    trained = config_job(task, calibrate, config, seed)
    return Job(base_model=task.base_model, recipe=trained.recipe, eval=task.eval, seed=seed,
               max_train_samples=trained.max_train_samples, calibrate=config.train)  # fmt: skip


def plan_jobs(
    task: TaskSpec, plan: Plan, seed: int, with_baseline: bool, calibrate: Plan | None = None
) -> list[tuple[str, Job]]:
    """(name, Job) for every config of the plan (a probe's job for a config marked ``probe``, ``trex.agents.probes``);
    the baseline evaluation first when asked (``calibrate``: see ``baseline_job``)."""
    jobs = []
    if with_baseline:
        jobs.append((BASELINE, baseline_job(task, seed, calibrate)))
    for config in plan.configs:
        run = probe_config(config) if config.probe else config  # a probe: a third of the steps first
        jobs.append((run.name, config_job(task, plan, run, seed)))
    return jobs


def job_workdir(workspace: Path, node_id: int, job_hash: str) -> Path:
    return workspace / "nodes" / str(node_id) / "jobs" / job_hash


class Executor:
    def __init__(self, store: Store, scheduler: Scheduler, tracker: Tracker | None = None, eval_backend: str = "hf",
                 task: TaskSpec | None = None) -> None:  # fmt: skip
        """``task``: the run's, whose evaluation files, metric code and base model are recorded now unless the
        workspace holds a record already (``trex.run.integrity``); every job then checks them before it scores."""
        recorded = record_integrity(store, task) if task is not None else store.get_meta(INTEGRITY_KEY)
        self.evaluation_sha256 = expected_hashes(recorded)
        self.regression = (task.regression or RegressionConfig()) if task is not None else None  # every job's check
        self.store = store
        self.scheduler = scheduler
        self.tracker = tracker
        self.eval_backend = eval_backend
        self.in_flight: dict[str, tuple[int, JobRequest]] = {}  # hash -> (node whose folder it runs in, request)
        self.waiting: dict[int, set[str]] = {}  # node -> hashes it still waits for
        self.test_failures: dict[str, str] = {}  # job hash -> why its test scoring failed (this session)

    def _request(self, job: Job, workdir: Path) -> JobRequest:
        init = None
        if job.train is not None and job.train.init_from_job:
            source = self.store.job(job.train.init_from_job)
            if source is not None and source.workdir:
                init = source.workdir
        # the untrained baseline is the reference every report shows: its test score is always taken
        return JobRequest(job=job, workdir=str(workdir), init_from=init, eval_backend=self.eval_backend,
                          score_test=job.train is None, evaluation_sha256=self.evaluation_sha256,
                          regression=self.regression)  # fmt: skip

    def score_test(self, job_hash: str) -> float | None:
        """The test score of a finished job, scored now in a worker of its own from the model the job saved
        (once: a job that has one keeps it; a failure is recorded once with its cause, event ``test_failed``, and
        not retried in this session: ``trex resume`` tries again). Call it with nothing in flight."""
        stored = self.store.job(job_hash)
        if stored is None or stored.result is None or stored.result.status != "ok" or not stored.workdir:
            return None
        if stored.result.test is not None:
            return stored.result.test_score
        if job_hash in self.test_failures:  # failed once: recorded with its cause, retried by the next session
            return None
        workdir = Path(stored.workdir) / "test"
        request = JobRequest(job=stored.job, workdir=str(workdir), init_from=stored.workdir, test_only=True,
                             evaluation_sha256=self.evaluation_sha256)  # fmt: skip
        result = self._run_now(request)
        if result.status != "ok" or result.test is None:
            self.test_failures[job_hash] = result.error or result.error_class or "no test score"
            self.store.event("test_failed", None, hash=job_hash, error=self.test_failures[job_hash])
            return None
        self.store.set_job_test(job_hash, result.test.model_dump_json(), result.seconds)
        return result.test_score

    def _run_now(self, request: JobRequest) -> JobResult:
        """Run one request and wait for its result (call it with nothing in flight)."""
        results: list[JobResult] = []
        self.scheduler.run([request], lambda _, result: results.append(result))
        return results[0]

    def calibrate(self, job: Job) -> JobResult:
        """Run a job before its node exists (the base-model job that times the default config, ``calibration``)
        and record it; a finished one is not run again. Call it with nothing in flight."""
        job_hash = job.content_hash()
        stored = self.store.job(job_hash)
        if stored is not None and stored.result is not None:
            return stored.result
        self.store.add_job(job_hash, job.model_dump_json())
        request = self._request(job, self.store.workspace / "calibration" / job_hash)
        result = self._run_now(request)
        self._record(None, request, result)
        return result

    def replay(self, job_hash: str, workdir: Path) -> JobResult:
        """Run a stored job again from its specification in ``workdir``; the store is not changed."""
        stored = self.store.job(job_hash)
        if stored is None:
            raise ValueError(f"no job {job_hash} in this workspace")
        request = self._request(stored.job, workdir).model_copy(update={"score_test": True})
        return self._run_now(request)

    def start_node(
        self,
        node_id: int,
        deadline: Callable[[int], float | None] | None = None,
        train_by: Callable[[int], float | None] | None = None,
        after_train_s: float | None = None,
    ) -> None:
        """Submit the node's unfinished jobs (a hash already in flight is waited for, not submitted again).

        ``deadline(n)`` is the epoch time at which a job is cancelled when n jobs are in flight with it;
        ``train_by(n)`` the one by which its training must end (``JobRequest.train_until``); ``after_train_s`` what
        each job keeps of its timeout after training, as the run measured it (``JobRequest.after_train_s``).
        """
        waiting = self.waiting.setdefault(node_id, set())
        for stored in self.store.jobs_of(node_id):
            if stored.result is not None or stored.hash in waiting:
                continue
            waiting.add(stored.hash)
            if stored.hash in self.in_flight:
                continue
            request = self._request(stored.job, job_workdir(self.store.workspace, node_id, stored.hash))
            request = request.model_copy(update={"after_train_s": after_train_s})
            finished = _result_on_disk(request)
            if finished is not None:  # the worker finished but the run died before recording it
                self._record(node_id, request, finished)
                continue
            (Path(request.workdir) / RUNNING_FILE).unlink(missing_ok=True)  # a killed session's, not this run's
            flying = len(self.in_flight) + 1  # this job with the others in flight
            if train_by is not None:
                request = request.model_copy(update={"train_until": train_by(flying)})
            self.in_flight[stored.hash] = (node_id, request)
            self.scheduler.submit(request, deadline(flying) if deadline else None)

    def poll(self, timeout: float | None = None) -> list[int]:
        """Record the jobs that finished (waiting up to ``timeout`` seconds for one when no node is settled yet);
        return the nodes that now have nothing in flight, in id order (complete, or with cancelled jobs)."""
        if not any(not hashes for hashes in self.waiting.values()) and self.in_flight:
            for request, result in self.scheduler.wait(timeout):
                node_id, _ = self.in_flight.pop(request.job.content_hash(), (None, request))
                self._record(node_id, request, result)
        settled = sorted(node for node, hashes in self.waiting.items() if not hashes)
        for node in settled:
            del self.waiting[node]
        return settled

    def running_gpu_seconds(self) -> float:
        """GPU-seconds the jobs in flight have held so far (from the ``running.json`` their workers wrote)."""
        total, now = 0.0, time.time()
        for _, request in self.in_flight.values():
            try:
                running = json.loads((Path(request.workdir) / RUNNING_FILE).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # still waiting for a slot
            gpus = len(running["gpu"].split(",")) if running.get("gpu") else 0
            total += max(0.0, now - float(running["started"])) * gpus
        return total

    def _record(self, node_id: int | None, request: JobRequest, result: JobResult) -> None:
        job_hash = request.job.content_hash()
        for hashes in self.waiting.values():
            hashes.discard(job_hash)
        if result.error_class == "cancelled":
            self.store.event("job_cancelled", node_id, hash=job_hash)
            return
        self.store.finish_job(job_hash, result.status, result.model_dump_json(), request.workdir)
        if self.tracker is not None:
            name = next((s.name for s in self.store.jobs_of(node_id) if s.hash == job_hash), job_hash)
            try:
                self.tracker.log_job(node_id, name, request.job, result)
            except Exception as exc:  # noqa: BLE001 - tracking must never stop the search
                self.store.event("tracking_failed", node_id, hash=job_hash, error=f"{type(exc).__name__}: {exc}")


def _result_on_disk(request: JobRequest) -> JobResult | None:
    path = Path(request.workdir) / RESULT_FILE
    if not path.exists():
        return None
    try:
        result = JobResult.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    return result if result.job_hash == request.job.content_hash() and result.status == "ok" else None


def outcome(name: str, job: Job, result: JobResult, workdir: str | None = None) -> ConfigOutcome:
    """What a researcher may see of a job: validation only (all bad cases from the job folder when it is given)."""
    from trex.agents.llm.render import read_bad_cases

    losses = result.train.losses if result.train else []
    validation = result.validation
    return ConfigOutcome(
        name=name,
        job_hash=job.content_hash(),
        status=result.status,
        train=job.train,
        recipe=job.recipe,
        val_score=result.val_score,
        val_low=validation.score.low if validation else None,
        val_high=validation.score.high if validation else None,
        val_groups=validation.score.groups if validation else None,
        error=result.error,
        diagnosis=validation.diagnosis if validation else None,
        first_loss=losses[0][1] if losses else None,
        last_loss=losses[-1][1] if losses else None,
        losses=losses,
        train_rows=result.train.train_rows if result.train else None,
        sample_labels=result.train.sample_labels if result.train else {},
        steps=result.train.steps if result.train else None,
        seconds=result.seconds,
        data_stats=result.data_stats,
        bad_cases=read_bad_cases(workdir, validation.bad_cases if validation else []),
    )
