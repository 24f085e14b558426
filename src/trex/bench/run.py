"""Run trex on FT-Bench tasks and write the paper's Table 3 for them.

For each task: the source rows (fetched, or the packaged fixture slice with ``fixtures=True``)
go through the task's preparer into ``WORKSPACE/TASK/data/{train,validation,test}.jsonl`` (no train file for a
task without a training split, whose run needs the LLM researcher: ``researcher_refusal``); a
trex task file is written next to them (``WORKSPACE/TASK/task.yaml``) and the search runs in
``WORKSPACE/TASK/run`` (so ``trex status/report/export`` work on it, and a second ``bench run``
resumes it). The result row holds the paper's reference and base scores, the base model's and the
best node's test scores measured by the run, and the normalized gain against the paper's
reference (``trex.evaluation.gain``). A task that cannot be prepared or run becomes a row with its
error; the other tasks go on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from trex.bench.local import read_local_split
from trex.bench.prepare import PREPARERS, Rows
from trex.bench.sources import fetch_split
from trex.bench.spec import BenchTask, SplitName, fixture_meta, load_fixture
from trex.evaluation.gain import GainError, normalized_gain
from trex.report.html import write_report
from trex.report.strategies import strategy_table
from trex.run.loop import SearchLoop
from trex.run.options import RunOptions, RunSummary
from trex.run.workspace import start_run
from trex.store import Store


class StrategyCounts(BaseModel):
    """The paper's Table 4 for one run: nodes per outcome, from the event log."""

    attempted: int = 0
    succeeded: int = 0
    improved: int = 0


class BenchRow(BaseModel):
    name: str
    title: str
    metric: str
    paper_reference: float  # Table 3, Qwen3-235B-2507 on the paper's splits
    paper_base: float  # Table 3, Qwen3-1.7B
    reference: float | None = None  # measured on this run's test split (--reference-model) or given
    reference_from: str | None = None
    base: float | None = None
    best: float | None = None
    gain: float | None = None
    strategies: StrategyCounts = StrategyCounts()  # all strategies together
    by_strategy: dict[str, StrategyCounts] = {}  # the paper's Table 4: per strategy type
    nodes: int = 0
    run_dir: str | None = None
    error: str | None = None


def prepare_args(task: BenchTask, split: SplitName, local: bool) -> dict[str, Any]:
    """The preparer's arguments for a split: the task's, the split's, then the local layout's."""
    args = {**task.prepare_args, **task.split_args.get(split, {})}
    if local and task.source.local is not None:
        args.update(task.source.local.prepare_args)
    return args


def prepare_rows(task: BenchTask, split: SplitName, fixtures: bool = False, source_dir: Path | None = None) -> Rows:
    """A split's trex rows from the packaged fixture, a local copy of the source, or the source itself.

    Fixtures are in the local copy's layout, so they go through the same preparer arguments."""
    if split not in task.splits:
        raise ValueError(f"{task.name}: no {split} split (the task's splits: {', '.join(task.splits)})")
    if fixtures:
        rows, local = load_fixture(task.name)[split], fixture_meta(task.name).layout == "local"
    elif source_dir is not None:
        rows, local = read_local_split(task, split, source_dir), True
    else:
        rows, local = fetch_split(task.source, split), False
    return PREPARERS[task.prepare](rows, split, prepare_args(task, split, local))


def prepare_data(
    task: BenchTask, folder: Path, fixtures: bool = False, source_dir: Path | None = None
) -> dict[str, Path]:
    """Write the task's splits as trex rows (``folder/data/SPLIT.jsonl``); return their paths (no train without a
    training split)."""
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    paths = {}
    for split in task.splits:
        prepared = prepare_rows(task, split, fixtures, source_dir)
        if not prepared:
            raise ValueError(f"{task.name}: the {split} split is empty after preparation")
        path = data / f"{split}.jsonl"
        tmp = path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in prepared), encoding="utf-8")
        tmp.replace(path)
        paths[split] = path
    return paths


# A fixture run checks the machinery on a few rows in minutes on a CPU, not what a task measures: generation and
# the root configs' training steps are cut to these (a real run keeps the task file's values). max_length stays:
# at 512 TRL kept none of ACI-Bench's dialogues (num_samples=0).
FIXTURE_MAX_NEW_TOKENS = 32
FIXTURE_TRAINING = {"max_steps": 8}


def task_file(
    task: BenchTask,
    paths: dict[str, Path],
    base_model: str | None,
    training: dict[str, Any],
    max_examples: int | None,
    fixtures: bool = False,
) -> dict[str, Any]:
    """The trex task file body for a prepared bench task (fixture-sized with ``fixtures``)."""
    body = json.loads(json.dumps(task.task))  # a deep copy
    if fixtures:
        body["eval"]["max_new_tokens"] = min(body["eval"].get("max_new_tokens", 64), FIXTURE_MAX_NEW_TOKENS)
        root = body.get("training", {})
        body["training"] = {**root, **{k: min(v, root.get(k, v)) for k, v in FIXTURE_TRAINING.items()}}
    body["name"] = task.name
    if "train" in paths:  # a task without a training split has no train_data: the LLM researcher builds one
        body["train_data"] = str(paths["train"])
    body["reference_score"] = task.reference_score
    body["eval"].update(validation=str(paths["validation"]), test=str(paths["test"]))
    if max_examples is not None:
        body["eval"]["max_examples"] = max_examples
    if base_model is not None:
        body["base_model"] = base_model
    body["training"] = {**body.get("training", {}), **training}
    return body


def run_task(
    task: BenchTask,
    workspace: Path,
    options: RunOptions,
    fixtures: bool = False,
    base_model: str | None = None,
    training: dict[str, Any] | None = None,
    max_examples: int | None = None,
    listener: Any = None,
    source_dir: Path | None = None,
    reference_model: str | None = None,
    reference_score: float | None = None,
) -> BenchRow:
    """Prepare, search and score one task. The reference is ``reference_score`` as given, or ``reference_model``
    evaluated as is on the same test split (a job in ``TASK/reference``); without either there is no gain."""
    from trex.task.spec import load_task

    folder = workspace / task.name
    row = _with_stored_reference(_empty_row(task), folder)
    if (refusal := researcher_refusal(task, options)) is not None:
        return row.model_copy(update={"error": refusal})
    if reference_score is not None:
        row = row.model_copy(update={"reference": reference_score, "reference_from": "given"})
    try:
        paths = prepare_data(task, folder, fixtures, source_dir)
        body = task_file(task, paths, base_model, training or {}, max_examples, fixtures)
        path = folder / "task.yaml"
        path.write_text(yaml.safe_dump(body, allow_unicode=True, sort_keys=False), encoding="utf-8")
        spec = load_task(path)
        if reference_model is not None and reference_score is None and row.reference_from != reference_model:
            measured = measure_reference(spec, reference_model, folder / "reference", options.seed)
            row = row.model_copy(update={"reference": measured, "reference_from": reference_model})
        if row.reference is not None:
            _save_reference(folder, row)
        store, spec = start_run(folder / "run", spec, path, options)  # spec as the jobs read it
        try:
            summary = SearchLoop(store, spec, options, listener=listener).run(on_iteration=lambda: write_report(store))
            write_report(store)
            return _with_result(row, summary, folder, store)
        finally:
            store.close()
    except Exception as exc:  # one task's failure is a row with its error; the bench goes on
        return row.model_copy(update={"error": f"{type(exc).__name__}: {exc}"})


def researcher_refusal(task: BenchTask, options: RunOptions) -> str | None:
    """Why this run's researcher cannot run ``task`` (one line), or None: a task without a training split (CS-Bench,
    GTA, as in the paper) needs the LLM researcher, which builds a training set; the others refuse a task without
    training data (``RunOptions.check_task``)."""
    if task.train_split or options.researcher == "llm":
        return None
    return (
        f"{task.name}: has no training split (as in the paper); the {options.researcher} researcher needs training "
        "data: run it with --researcher llm (and --llm-model), which builds a training set from the Hub and from "
        "synthesis"
    )


def measure_reference(spec: Any, model: str, folder: Path, seed: int) -> float:
    """Evaluate ``model`` as is on the task's test split, in its own worker process (as the base model is)."""
    from trex.runtime.job import Job, JobRequest
    from trex.runtime.local import LocalScheduler

    folder.mkdir(parents=True, exist_ok=True)
    results = []
    # score_test: a worker scores the test split only when asked (without it the reference was never measured)
    job = Job(base_model=model, eval=spec.eval, seed=seed)
    request = JobRequest(job=job, workdir=str(folder), score_test=True)
    LocalScheduler().run([request], lambda _, result: results.append(result))
    if not results or results[0].status != "ok" or results[0].test_score is None:
        why = (results[0].error or "no test score") if results else "no result"
        raise RuntimeError(f"reference model {model}: {why}")
    return float(results[0].test_score)


# WORKSPACE/TASK/reference.json: the reference a task's gain is computed against (given or measured), kept so that
# a later invocation (a table over several tasks, a resumed run) computes the same gain without measuring it again.
REFERENCE_FILE = "reference.json"


def _save_reference(folder: Path, row: BenchRow) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    data = {"reference": row.reference, "reference_from": row.reference_from}
    (folder / REFERENCE_FILE).write_text(json.dumps(data), encoding="utf-8")


def _with_stored_reference(row: BenchRow, folder: Path) -> BenchRow:
    path = folder / REFERENCE_FILE
    if not path.is_file():
        return row
    data = json.loads(path.read_text(encoding="utf-8"))
    return row.model_copy(update={"reference": data["reference"], "reference_from": data["reference_from"]})


def _empty_row(task: BenchTask) -> BenchRow:
    return BenchRow(
        name=task.name,
        title=task.title,
        metric=task.metric,
        paper_reference=task.reference_score,
        paper_base=task.base_score,
    )


def strategy_counts(store: Store) -> dict[str, StrategyCounts]:
    """Table 4 per strategy type: nodes created (attempted), finished with a score (succeeded), and scoring above
    their parent's validation score, or the root above the base model's (improved) (``trex.report.strategies``)."""
    return {name: StrategyCounts(**row) for name, row in strategy_table(store).items()}


def _with_result(row: BenchRow, summary: RunSummary, folder: Path, store: Store | None = None) -> BenchRow:
    """The row with a run's scores, Table 4 counts and the normalized gain against a reference measured on the
    same test split (none without one; the gain formula's refusal becomes the error)."""
    update: dict[str, Any] = {"base": summary.base_test, "best": summary.best_test, "nodes": summary.nodes}
    update["run_dir"] = str(folder)
    if store is not None:
        update["by_strategy"] = by_strategy = strategy_counts(store)
        update["strategies"] = StrategyCounts(
            **{k: sum(getattr(c, k) for c in by_strategy.values()) for k in ("attempted", "succeeded", "improved")}
        )
    row = row.model_copy(update=update)
    if row.best is not None and row.base is not None and row.reference is not None:
        try:
            row = row.model_copy(update={"gain": normalized_gain(row.best, row.base, row.reference)})
        except GainError as exc:
            row = row.model_copy(update={"error": str(exc)})
    return row


def stored_row(task: BenchTask, workspace: Path) -> BenchRow | None:
    """The row of a task already run in this workspace (for tables over several invocations)."""
    folder = workspace / task.name / "run"
    if not (folder / Store.DB_FILE).exists():
        return None
    from trex.run.options import summarize

    store = Store.open_existing(folder)
    try:
        summary = summarize(store)
        folder = workspace / task.name
        return _with_result(_with_stored_reference(_empty_row(task), folder), summary, folder, store)
    finally:
        store.close()
