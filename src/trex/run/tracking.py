"""Experiment tracking: every finished job of a search logged to trackio or MLflow (``--track``).

Both backends are local-first and optional extras:
- ``trackio`` (extra ``trackio``) writes to its own local SQLite store (``$TRACKIO_DIR``, by default
  ``~/.cache/huggingface/trackio``), one project per task; ``trackio show --project TASK`` opens it.
  Nothing leaves the machine unless the user configures a Space.
- ``mlflow`` (extra ``mlflow``: mlflow-skinny and SQLAlchemy) logs to ``$MLFLOW_TRACKING_URI`` when it
  is set (a team's server), else to ``sqlite:///WORKSPACE/mlflow.db``; one experiment per task.
  ``mlflow ui --backend-store-uri sqlite:///WORKSPACE/mlflow.db`` opens it.

A job becomes one run named ``node{N}-{config}`` (the baseline evaluation too), with its node,
config, hash, base model, status and training hyperparameters as parameters, its training loss
at every logged step, and its validation and test scores with their 95% intervals, rows and
seconds. Jobs are logged by the search process as their results are recorded, so every
scheduler (local, Ray, Slurm) is tracked the same way. A tracking failure is reported as an
event and never stops the search.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

from trex.run.choices import TrackBackend
from trex.runtime.job import Job, JobResult


class Tracker(Protocol):
    def log_job(self, node_id: int, name: str, job: Job, result: JobResult) -> None: ...

    def close(self) -> None: ...


def job_params(node_id: int, name: str, job: Job, result: JobResult) -> dict[str, Any]:
    """A job's parameters, flat and scalar (what both backends accept)."""
    params: dict[str, Any] = {
        "node": node_id,
        "config": name,
        "job_hash": job.content_hash(),
        "base_model": job.base_model,
        "status": result.status,
        "seed": job.seed,
    }
    if result.error_class:
        params["error_class"] = result.error_class
    if job.train is not None:
        for key, value in job.train.model_dump().items():
            if value is not None:
                params[f"train.{key}"] = ",".join(value) if isinstance(value, list) else value
    return params


def job_metrics(job: Job, result: JobResult) -> dict[str, float]:
    """A job's final figures: scores with intervals, rows, steps, seconds."""
    metrics: dict[str, float] = {"seconds": result.seconds}
    for split, evaluation in (("val", result.validation), ("test", result.test)):
        if evaluation is not None:
            score = evaluation.score
            metrics |= {
                f"{split}/{job.eval.metric}": score.value,
                f"{split}/low": score.low,
                f"{split}/high": score.high,
            }
    if result.train is not None:
        metrics |= {"train/rows": float(result.train.train_rows), "train/steps": float(result.train.steps)}
    return metrics


def loss_curve(result: JobResult) -> list[tuple[int, float]]:
    return list(result.train.losses) if result.train is not None else []


class TrackioTracker:
    def __init__(self, project: str) -> None:
        try:
            import trackio
        except ImportError as exc:
            raise ImportError("--track trackio needs the extra: pip install 'trex[trackio]'") from exc
        self._trackio = trackio
        self.project = project

    def log_job(self, node_id: int, name: str, job: Job, result: JobResult) -> None:
        run = self._trackio.init(
            project=self.project,
            name=f"node{node_id}-{name}",
            group=f"node{node_id}",
            config=job_params(node_id, name, job, result),
            resume="allow",
            auto_log_cpu=False,
            auto_log_gpu=False,
        )
        try:
            last = 0
            for step, loss in loss_curve(result):
                run.log({"train/loss": loss}, step=step)
                last = step
            run.log(job_metrics(job, result), step=last + 1)
        finally:
            run.finish()

    def close(self) -> None:
        return None


class MLflowTracker:
    def __init__(self, experiment: str, workspace: Path) -> None:
        try:
            from mlflow.tracking import MlflowClient
        except ImportError as exc:
            raise ImportError("--track mlflow needs the extra: pip install 'trex[mlflow]'") from exc
        self.uri = os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path(workspace).resolve() / 'mlflow.db'}"
        self.client = MlflowClient(self.uri)
        found = self.client.get_experiment_by_name(experiment)
        self.experiment_id = found.experiment_id if found else self.client.create_experiment(experiment)

    def log_job(self, node_id: int, name: str, job: Job, result: JobResult) -> None:
        from mlflow.entities import Metric, Param

        run = self.client.create_run(self.experiment_id, run_name=f"node{node_id}-{name}", tags={"node": str(node_id)})
        run_id = run.info.run_id
        stamp = run.info.start_time
        metrics = [Metric("train/loss", loss, stamp, step) for step, loss in loss_curve(result)]
        metrics += [Metric(key, value, stamp, 0) for key, value in job_metrics(job, result).items()]
        params = [Param(key, str(value)) for key, value in job_params(node_id, name, job, result).items()]
        self.client.log_batch(run_id, metrics=metrics, params=params)
        self.client.set_terminated(run_id, status="FINISHED" if result.status == "ok" else "FAILED")

    def close(self) -> None:
        return None


def make_tracker(backend: TrackBackend, project: str, workspace: Path) -> Tracker:
    """The tracker for ``--track``; raises ImportError naming the extra when it is not installed."""
    if backend == "trackio":
        return TrackioTracker(project)
    return MLflowTracker(project, workspace)
