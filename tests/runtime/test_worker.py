"""The worker as a real subprocess: a tiny training job succeeds; failures become failed results."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from trex.agents.heuristic.researcher import base_recipe
from trex.runtime.base import JOB_FILE, run_worker
from trex.runtime.job import TRAIN_SHARE, Job, JobRequest
from trex.runtime.local import LocalScheduler
from trex.runtime.worker import BADCASES_FILE, START_MARKER, warm_start

pytestmark = pytest.mark.slow


def _job(task, **train_changes) -> Job:
    train = task.training.model_copy(update={"max_steps": 2, **train_changes})
    return Job(
        base_model=task.base_model,
        recipe=base_recipe(task, 16, seed=0),
        train=train,
        eval=task.eval,
        max_train_samples=12,
    )


def test_training_job_produces_scores_adapter_and_badcases(tiny_task, tmp_path: Path) -> None:
    job = _job(tiny_task)
    request = JobRequest(job=job, workdir=str(tmp_path / "j"), score_test=True)
    before = time.time()
    result = run_worker(request, gpu=None, timeout_s=300)
    assert result.status == "ok", result.error
    # its training was told to end by TRAIN_SHARE of the timeout, counted from the worker's start
    until = JobRequest.model_validate_json((tmp_path / "j" / JOB_FILE).read_text()).train_until
    assert before + TRAIN_SHARE * 300 <= until <= before + TRAIN_SHARE * 300 + 30
    assert result.job_hash == job.content_hash()
    assert result.train.steps == 2 and result.train.train_rows == 12  # the sample cap held
    labels = result.train.sample_labels  # the trained sample's label distribution, for the researcher
    assert sum(labels.values()) == 12 and all(labels) and "(other)" not in labels
    assert 0.0 <= result.val_score <= 1.0 and result.test.score.n == 48
    assert result.test.bad_cases == [] and result.test.diagnosis is None  # nothing of the test split leaks
    assert (tmp_path / "j" / "adapter" / "adapter_config.json").exists()
    bad = (tmp_path / "j" / BADCASES_FILE).read_text().splitlines()
    assert len(bad) == round((1 - result.val_score) * 48)
    assert START_MARKER in (tmp_path / "j" / "log.txt").read_text()

    # warm start: a second job continues the first one's adapter
    warm = _job(tiny_task, init_from_job=job.content_hash())
    budget_ends = time.time() + 120  # the run's budget ends before the timeout's share: the sooner holds
    request = JobRequest(job=warm, workdir=str(tmp_path / "k"), init_from=str(tmp_path / "j"), train_until=budget_ends)
    warm_result = run_worker(request, gpu=None, timeout_s=300)
    assert warm_result.status == "ok" and warm_result.test is None  # a job scores test only when asked
    assert JobRequest.model_validate_json((tmp_path / "k" / JOB_FILE).read_text()).train_until == budget_ends

    # test on demand: the first job's saved adapter scores the test split, in a worker of its own
    again = JobRequest(job=job, workdir=str(tmp_path / "j" / "test"), init_from=str(tmp_path / "j"), test_only=True)
    again.after_train_s = 10.0  # what the run measured its jobs need after training: less than 15% of the timeout
    before = time.time()
    tested = run_worker(again, gpu=None, timeout_s=300)
    assert tested.status == "ok" and tested.validation is None and tested.test.score.value == result.test.score.value
    until = JobRequest.model_validate_json((tmp_path / "j" / "test" / JOB_FILE).read_text()).train_until
    assert before + 290 <= until <= before + 290 + 30


def test_failing_job_becomes_failed_result_with_error(tiny_task, tmp_path: Path) -> None:
    job = _job(tiny_task).model_copy(update={"base_model": str(tmp_path / "no-such-model")})
    results = []
    LocalScheduler(timeout_s=300, gpus=[]).run(
        [JobRequest(job=job, workdir=str(tmp_path / "f"))], lambda r, res: results.append(res)
    )
    (result,) = results
    assert result.status == "failed" and result.error_class == "exception"
    assert "no-such-model" in result.error
    assert "Traceback" in (tmp_path / "f" / "log.txt").read_text()


def test_timeout_kills_the_job(tiny_task, tmp_path: Path) -> None:
    result = run_worker(JobRequest(job=_job(tiny_task), workdir=str(tmp_path / "t")), gpu=None, timeout_s=1)
    assert result.status == "failed" and result.error_class == "timeout"


def test_full_fine_tuning_warm_start_continues_the_saved_weights(tiny_task, tmp_path: Path) -> None:
    first = _job(tiny_task, method="full_sft")
    assert run_worker(JobRequest(job=first, workdir=str(tmp_path / "a")), gpu=None, timeout_s=300).status == "ok"
    assert (tmp_path / "a" / "model" / "config.json").exists()
    warm = _job(tiny_task, method="full_sft", init_from_job=first.content_hash())
    request = JobRequest(job=warm, workdir=str(tmp_path / "b"), init_from=str(tmp_path / "a"))
    assert warm_start(request) == (str(tmp_path / "a" / "model"), None)
    result = run_worker(request, gpu=None, timeout_s=300)
    assert result.status == "ok", result.error

    # the other kind of warm start is refused with what is missing, before any model is loaded
    lora = _job(tiny_task, init_from_job=first.content_hash())
    with pytest.raises(ValueError, match="saved no LoRA adapter"):
        warm_start(JobRequest(job=lora, workdir=str(tmp_path / "c"), init_from=str(tmp_path / "a")))
    with pytest.raises(FileNotFoundError, match="not in this workspace"):
        warm_start(JobRequest(job=lora, workdir=str(tmp_path / "c")))
