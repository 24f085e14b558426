"""Executor: turns a Plan into Jobs, runs the ones not yet finished, and gathers their outcomes.

Every config becomes one Job (the root also gets an evaluation-only Job of the base model). Each
training recipe gets a decontamination step against the task's validation and test inputs (the
task's ``decontaminate: false`` turns it off); the rows it drops show in the job's data statistics
and in the node's insights.
Jobs are identified by content hash: a job whose hash already has a result in the store is never
run again, whichever node asked for it first. Each finished job is committed to the store the
moment it ends, so a killed run loses at most the jobs that were running.
"""

from __future__ import annotations

from pathlib import Path

from trex.agents.plan import ConfigOutcome, ConfigSpec, Plan
from trex.aidp.recipe import Recipe, Step
from trex.runtime.base import Scheduler
from trex.runtime.job import Job, JobRequest, JobResult
from trex.runtime.worker import RESULT_FILE
from trex.store import Store
from trex.task import TaskSpec
from trex.tracking import Tracker

BASELINE = "base-model"


def decontaminated(recipe: Recipe, task: TaskSpec) -> Recipe:
    """The recipe with a decontamination step against the task's validation and test inputs right after
    its loader, unless it has one or the task turns it off (``decontaminate: false``)."""
    if not task.decontaminate or not recipe.steps or any(s.op == "decontaminate" for s in recipe.steps):
        return recipe
    guard = Step(
        op="decontaminate",
        args={"column": task.eval.input_field, "against": [task.eval.validation, task.eval.test]},
    )
    return Recipe(steps=[recipe.steps[0], guard, *recipe.steps[1:]])


def config_job(task: TaskSpec, plan: Plan, config: ConfigSpec, seed: int) -> Job:
    """The Job that trains and evaluates one config of a plan."""
    return Job(
        base_model=task.base_model,
        recipe=decontaminated(plan.recipe_for(config), task),
        train=config.train,
        eval=task.eval,
        seed=seed,
        max_train_samples=task.limits.max_train_samples,
    )


def plan_jobs(task: TaskSpec, plan: Plan, seed: int, with_baseline: bool) -> list[tuple[str, Job]]:
    """(name, Job) for every config of the plan; the baseline evaluation first when asked."""
    jobs = []
    if with_baseline:
        jobs.append((BASELINE, Job(base_model=task.base_model, eval=task.eval, seed=seed)))
    jobs.extend((config.name, config_job(task, plan, config, seed)) for config in plan.configs)
    return jobs


def job_workdir(workspace: Path, node_id: int, job_hash: str) -> Path:
    return workspace / "nodes" / str(node_id) / "jobs" / job_hash


class Executor:
    def __init__(
        self, store: Store, scheduler: Scheduler, tracker: Tracker | None = None, eval_backend: str = "hf"
    ) -> None:
        self.store = store
        self.scheduler = scheduler
        self.tracker = tracker
        self.eval_backend = eval_backend

    def _request(self, job: Job, workdir: Path) -> JobRequest:
        init = None
        if job.train is not None and job.train.init_from_job:
            source = self.store.job(job.train.init_from_job)
            if source is not None and source.workdir:
                init = source.workdir
        return JobRequest(job=job, workdir=str(workdir), init_from=init, eval_backend=self.eval_backend)

    def replay(self, job_hash: str, workdir: Path) -> JobResult:
        """Run a stored job again from its specification in ``workdir``; the store is not changed."""
        stored = self.store.job(job_hash)
        if stored is None:
            raise ValueError(f"no job {job_hash} in this workspace")
        results: list[JobResult] = []
        request = self._request(stored.job, workdir)
        self.scheduler.run([request], lambda _, result: results.append(result))
        return results[0]

    def run_node(self, node_id: int, deadline: float | None = None) -> list[tuple[str, JobResult]] | None:
        """Run the node's unfinished jobs; return (name, result) for all of its jobs, in plan order.

        Jobs still running at the epoch time ``deadline`` are cancelled and not recorded; the node
        is then incomplete and ``None`` is returned (a resume runs the missing jobs).
        """
        stored = self.store.jobs_of(node_id)
        names = {s.hash: s.name for s in stored}
        pending_jobs = {s.hash: s.job for s in stored if s.result is None}
        # one request per hash: two configs of a plan that train identically share one job
        requests = [
            self._request(job, job_workdir(self.store.workspace, node_id, job_hash))
            for job_hash, job in pending_jobs.items()
        ]

        def record(request: JobRequest, result: JobResult) -> None:
            if result.error_class == "cancelled":
                self.store.event("job_cancelled", node_id, hash=request.job.content_hash())
                return
            job_hash = request.job.content_hash()
            self.store.finish_job(job_hash, result.status, result.model_dump_json(), request.workdir)
            if self.tracker is not None:
                try:
                    self.tracker.log_job(node_id, names.get(job_hash, job_hash), request.job, result)
                except Exception as exc:  # noqa: BLE001 - tracking must never stop the search
                    self.store.event("tracking_failed", node_id, hash=job_hash, error=f"{type(exc).__name__}: {exc}")

        pending = []
        for request in requests:
            finished = _result_on_disk(request)
            if finished is not None:  # the worker finished but the run died before recording it
                record(request, finished)
            else:
                pending.append(request)
        if pending:
            self.scheduler.run(pending, record, deadline)
        done = [(s.name, s.result) for s in self.store.jobs_of(node_id)]
        if any(result is None for _, result in done):
            return None
        return done  # type: ignore[return-value]


def _result_on_disk(request: JobRequest) -> JobResult | None:
    path = Path(request.workdir) / RESULT_FILE
    if not path.exists():
        return None
    try:
        result = JobResult.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    return result if result.job_hash == request.job.content_hash() and result.status == "ok" else None


def outcome(name: str, job: Job, result: JobResult) -> ConfigOutcome:
    """What a researcher may see of a job: validation only."""
    losses = result.train.losses if result.train else []
    return ConfigOutcome(
        name=name,
        job_hash=job.content_hash(),
        status=result.status,
        train=job.train,
        val_score=result.val_score,
        val_low=result.validation.score.low if result.validation else None,
        val_high=result.validation.score.high if result.validation else None,
        error=result.error,
        diagnosis=result.validation.diagnosis if result.validation else None,
        first_loss=losses[0][1] if losses else None,
        last_loss=losses[-1][1] if losses else None,
        train_rows=result.train.train_rows if result.train else None,
    )
