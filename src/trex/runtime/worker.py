"""Job worker: ``python -m trex.runtime.worker job.json`` runs one Job and writes result.json.

Steps: AIDP recipe -> training (LoRA/full SFT) -> evaluation on validation, and on test only when
the request asks (``score_test``: the base model, the run's best node, a replay). A ``test_only``
request scores the test split of a finished job from the model that job saved. Any
exception becomes a failed JobResult with its class and message (the traceback goes to the log
on stderr); out-of-memory is classed ``oom``. result.json is written atomically (rename), so a
killed worker leaves either a whole result or none. Validation bad cases go to badcases.jsonl.
Training is fitted to end by the request's ``train_until`` (a slow machine trains fewer steps, not past
the job timeout). A base-model job with a ``calibrate`` config (the first job of a wall-clock run) also times that
config's training after its scoring, and reports it as ``calibration``. Before it scores, a job checks the evaluation
files and the metric's code against the run's start (``trex.evaluation.integrity``): a change fails it with the cause
"evaluation changed" (class ``evaluation_changed``), never a score; the hashes it checked go into its result.
A request with ``regression`` also measures the model on the general suite before scoring it
(``trex.evaluation.general``: perplexity on trex's general text by default), timed, into the result's ``general``.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from trex.runtime.job import JobRequest, JobResult

RESULT_FILE = "result.json"
BADCASES_FILE = "badcases.jsonl"
START_MARKER = "trex worker: starting job"


def die_with_parent() -> None:
    """Runs in a job's process before its work (a cold worker before exec, a warm child after its fork): on Linux
    the process gets SIGKILL when the process that started it dies, so a killed run leaves no orphan job writing
    into its folder."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: an orphan finishes its job and exits
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def warm_start(request: JobRequest) -> tuple[str, Path | None]:
    """The model to load and the adapter to continue: a LoRA warm start continues the earlier job's
    adapter on the base model; a full fine-tuning warm start loads the earlier job's saved weights."""
    job = request.job
    if job.train is None or not job.train.init_from_job:
        return job.base_model, None
    source = job.train.init_from_job
    if not request.init_from or not Path(request.init_from).is_dir():
        raise FileNotFoundError(f"init_from_job {source}: that job's folder is not in this workspace")
    adapter, weights = Path(request.init_from) / "adapter", Path(request.init_from) / "model"
    if job.train.lora:
        if not adapter.exists():
            raise ValueError(
                f"init_from_job {source} saved no LoRA adapter at {adapter}: a LoRA warm start "
                "continues an adapter (was that job full fine-tuning?)"
            )
        return job.base_model, adapter
    if not weights.exists():
        raise ValueError(
            f"init_from_job {source} saved no full weights at {weights}: a full fine-tuning warm "
            "start continues full weights (was that job LoRA?)"
        )
    return str(weights), None


def save_for_vllm(request: JobRequest, model: Any, tokenizer: Any) -> Path:
    """The folder vLLM will serve: the base model's when nothing trained, full weights as saved, or the
    LoRA-merged model written to ``merged/``."""
    from trex.assets import resolve_model

    job, workdir = request.job, Path(request.workdir)
    if job.train is None:
        return Path(resolve_model(job.base_model))
    if (workdir / "model").exists():  # full fine-tuning saved its weights already
        return workdir / "model"
    model.save_pretrained(workdir / "merged")
    tokenizer.save_pretrained(workdir / "merged")
    return workdir / "merged"


def evaluate_with_vllm(request: JobRequest, model_dir: Path, tokenizer: Any) -> tuple[Any, Any]:
    """Score both splits through a vLLM server on ``model_dir`` (the caller has dropped its model)."""
    import gc

    import torch

    from trex.evaluation.run import evaluate_split
    from trex.evaluation.vllm_backend import VLLMServer

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    job = request.job
    print(f"evaluation backend: vllm serving {model_dir}", flush=True)
    with VLLMServer(model_dir, Path(request.workdir) / "vllm.log", seed=job.seed) as server:
        validation = evaluate_split(None, tokenizer, job.eval, "validation", generate_texts=server.generate)
        test = None
        if request.score_test:
            test = evaluate_split(None, tokenizer, job.eval, "test", generate_texts=server.generate)
    return validation, test


def execute(request: JobRequest) -> JobResult:
    """Run the job in this process (the worker's); raise on any failure."""
    from trex.evaluation.run import evaluate_split
    from trex.train.model import load_model, seed_everything

    job, workdir = request.job, Path(request.workdir)
    start = time.perf_counter()
    seed_everything(job.seed)
    if request.test_only:
        return score_saved_model(request, start)
    model_ref, init_adapter = warm_start(request)
    model, tokenizer = load_model(model_ref, quantization=job.train.quantization if job.train else "none")
    stats, log = [], None
    if job.train is not None:
        if job.recipe is None:
            raise ValueError("a training job needs a data recipe")
        model, log, stats = train_on_recipe(
            job, job.train, model, tokenizer, workdir, init_adapter, until=request.train_until
        )
    model.eval()
    checked = check_before_scoring(request)
    general = general_check(request, model, tokenizer)  # before vLLM takes the model's place
    if request.eval_backend == "vllm" and job.eval.mode == "generate":
        model_dir = save_for_vllm(request, model, tokenizer)
        model = None  # the last reference: vLLM needs the accelerator's memory
        validation, test = evaluate_with_vllm(request, model_dir, tokenizer)
    else:
        validation = evaluate_split(model, tokenizer, job.eval, "validation")
        test = evaluate_split(model, tokenizer, job.eval, "test") if request.score_test else None
    calibration = calibrate(job, workdir, model, tokenizer)
    lines = [case.model_dump_json() for case in validation.bad_cases]
    write_atomic(workdir / BADCASES_FILE, "\n".join(lines) + ("\n" if lines else ""))
    validation = validation.model_copy(update={"bad_cases": validation.bad_cases[:20]})
    return JobResult(
        job_hash=job.content_hash(),
        status="ok",
        validation=validation,
        test=test,
        train=log,
        calibration=calibration,
        data_stats=stats,
        seconds=time.perf_counter() - start,
        evaluation_check=checked,
        general=general,
    )


def general_check(request: JobRequest, model: Any, tokenizer: Any) -> Any:
    """The model's figure on the general suite (``trex.evaluation.general``), None when the request asks for none."""
    if request.regression is None:
        return None
    from trex.evaluation.general import measure_general

    return measure_general(model, tokenizer, request.regression)


def calibrate(job: Any, workdir: Path, model: Any, tokenizer: Any) -> Any:
    """The timed training of a base-model job's ``calibrate`` config (None when it has none), after its scoring;
    the model it trains (the scored one, or a fresh copy when the evaluation dropped it) is discarded."""
    if job.train is not None or job.calibrate is None:
        return None
    from trex.train.model import load_model

    if job.recipe is None:
        raise ValueError("a calibrate job needs a data recipe")
    if model is None:
        model, tokenizer = load_model(job.base_model)
    out = workdir / "calibration"
    _, log, _ = train_on_recipe(job, job.calibrate, model, tokenizer, out)
    shutil.rmtree(out, ignore_errors=True)
    return log


def train_on_recipe(
    job: Any,
    cfg: Any,
    model: Any,
    tokenizer: Any,
    out: Path,
    init_adapter: Path | None = None,
    until: float | None = None,
) -> tuple[Any, Any, list]:
    """Train ``cfg`` (SFT or DPO) on the rows of the job's recipe (capped at its ``max_train_samples``), saving in
    ``out``: (the model to evaluate, its TrainLog, the recipe's per-step statistics). ``until``: the epoch time
    the training must end by (its steps and schedule are fitted to it when the pace would overrun)."""
    from trex.aidp.operators import CapParams, cap_samples
    from trex.aidp.recipe import run_recipe
    from trex.train.common import sample_labels
    from trex.train.dpo import train_dpo
    from trex.train.sft import train_sft

    dataset, stats = run_recipe(job.recipe, label_column=job.eval.label_field)
    dataset = cap_samples(dataset, CapParams(max_samples=job.max_train_samples))
    train = train_dpo if cfg.dpo else train_sft
    model, log = train(model, tokenizer, dataset, cfg, out, seed=job.seed, init_adapter=init_adapter, until=until)
    if "completion" in dataset.column_names:
        log = log.model_copy(update={"sample_labels": sample_labels([str(c) for c in dataset["completion"]])})
    return model, log, stats


def score_saved_model(request: JobRequest, start: float) -> JobResult:
    """The test score of a finished job: its base model with its saved adapter merged, or its saved full
    weights, or the base model for the untrained baseline (``request.init_from`` is the job's folder)."""
    from trex.evaluation.run import evaluate_split
    from trex.train.model import load_model

    job = request.job
    folder = Path(request.init_from or request.workdir)
    adapter, weights = folder / "adapter", folder / "model"
    if job.train is not None and not job.train.lora:
        if not weights.exists():
            raise FileNotFoundError(f"no saved weights at {weights}: was the job's folder removed?")
        model, tokenizer = load_model(str(weights))
    else:
        model, tokenizer = load_model(job.base_model)
        if job.train is not None:
            if not adapter.exists():
                raise FileNotFoundError(f"no saved adapter at {adapter}: was the job's folder removed?")
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    model.eval()
    checked = check_before_scoring(request)
    test = evaluate_split(model, tokenizer, job.eval, "test")
    seconds = time.perf_counter() - start
    return JobResult(job_hash=job.content_hash(), status="ok", test=test, seconds=seconds, evaluation_check=checked)


def check_before_scoring(request: JobRequest) -> dict[str, str | None] | None:
    """The evaluation files and the metric's code, hashed and checked against the run's start (``EvaluationChanged``
    fails the job: no score); None when the request carries no record."""
    from trex.evaluation.integrity import check_evaluation

    if request.evaluation_sha256 is None:
        return None
    return check_evaluation(request.job.eval, request.evaluation_sha256)


def innermost(exc: BaseException) -> BaseException:
    """The root cause: ``datasets`` wraps a UnicodeDecodeError in DatasetGenerationError, and so on."""
    seen = {id(exc)}
    while (inner := exc.__cause__) is not None and id(inner) not in seen:
        seen.add(id(inner))
        exc = inner
    return exc


def _error_class(exc: BaseException) -> str:
    name = type(exc).__name__
    if name == "EvaluationChanged":
        return "evaluation_changed"
    return "oom" if isinstance(exc, MemoryError) or name == "OutOfMemoryError" else "exception"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m trex.runtime.worker JOB.json", file=sys.stderr)
        return 2
    path = Path(argv[0])
    request = JobRequest.model_validate_json(path.read_text(encoding="utf-8"))
    print(f"{START_MARKER} {request.job.content_hash()}", flush=True)
    start = time.perf_counter()
    try:
        result = execute(request)
    except Exception as exc:  # every failure becomes a failed result; the search goes on
        traceback.print_exc()
        cause = innermost(exc)
        message = f"{type(cause).__name__}: {cause}".splitlines()[0][:500] if str(cause) else ""
        if cause is not exc or not message:  # keep the wrapper's words too when they say something
            outer = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            message = f"{message} (in {outer})" if message else outer
        result = JobResult.failure(request.job.content_hash(), message, _error_class(exc), time.perf_counter() - start)
    write_atomic(Path(request.workdir) / RESULT_FILE, result.model_dump_json(indent=1))
    return 0 if result.status == "ok" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
