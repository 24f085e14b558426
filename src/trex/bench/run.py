"""Run trex on FT-Bench tasks and write the paper's Table 3 for them.

For each task: the source rows (fetched, or the packaged fixture slice with ``fixtures=True``)
go through the task's preparer into ``WORKSPACE/TASK/data/{train,validation,test}.jsonl``; a
trex task file is written next to them (``WORKSPACE/TASK/task.yaml``) and the search runs in
``WORKSPACE/TASK/run`` (so ``trex status/report/export`` work on it, and a second ``bench run``
resumes it). The result row holds the paper's reference and base scores, the base model's and the
best node's test scores measured by the run, and the normalized gain against the paper's
reference (``trex.bench.gain``). A task that cannot be prepared or run becomes a row with its
error; the other tasks go on.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from trex.bench.gain import GainError, normalized_gain
from trex.bench.prepare import PREPARERS
from trex.bench.sources import fetch_split
from trex.bench.spec import BenchTask, load_fixture
from trex.loop import RunOptions, RunSummary, SearchLoop, start_run
from trex.report.html import write_report
from trex.store import Store

SPLITS = ("train", "validation", "test")


class BenchRow(BaseModel):
    name: str
    title: str
    metric: str
    reference: float
    paper_base: float
    base: float | None = None
    best: float | None = None
    gain: float | None = None
    nodes: int = 0
    run_dir: str | None = None
    error: str | None = None


def prepare_data(task: BenchTask, folder: Path, fixtures: bool) -> dict[str, Path]:
    """Write the task's three splits as trex rows; return their paths."""
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    raw = load_fixture(task.name) if fixtures else None
    paths = {}
    for split in SPLITS:
        rows = raw[split] if raw is not None else fetch_split(task.source, split)
        args = {**task.prepare_args, **task.split_args.get(split, {})}
        prepared = PREPARERS[task.prepare](rows, split, args)
        if not prepared:
            raise ValueError(f"{task.name}: the {split} split is empty after preparation")
        path = data / f"{split}.jsonl"
        tmp = path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in prepared), encoding="utf-8")
        tmp.replace(path)
        paths[split] = path
    return paths


def task_file(
    task: BenchTask, paths: dict[str, Path], base_model: str | None, training: dict[str, Any], max_examples: int | None
) -> dict[str, Any]:
    """The trex task file body for a prepared bench task."""
    body = json.loads(json.dumps(task.task))  # a deep copy
    body["name"] = task.name
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
) -> BenchRow:
    from trex.task import load_task

    row = _empty_row(task)
    folder = workspace / task.name
    try:
        paths = prepare_data(task, folder, fixtures)
        body = task_file(task, paths, base_model, training or {}, max_examples)
        path = folder / "task.yaml"
        path.write_text(yaml.safe_dump(body, allow_unicode=True, sort_keys=False), encoding="utf-8")
        spec = load_task(path)
        store = start_run(folder / "run", spec, path, options)
        try:
            summary = SearchLoop(store, spec, options, listener=listener).run(on_iteration=lambda: write_report(store))
            write_report(store)
        finally:
            store.close()
    except Exception as exc:  # one task's failure is a row with its error; the bench goes on
        return row.model_copy(update={"error": f"{type(exc).__name__}: {exc}"})
    return _with_result(row, summary, folder)


def _empty_row(task: BenchTask) -> BenchRow:
    return BenchRow(
        name=task.name,
        title=task.title,
        metric=task.metric,
        reference=task.reference_score,
        paper_base=task.base_score,
    )


def _with_result(row: BenchRow, summary: RunSummary, folder: Path) -> BenchRow:
    """The row with a run's scores and its normalized gain (or the gain formula's refusal as the error)."""
    row = row.model_copy(
        update={"base": summary.base_test, "best": summary.best_test, "nodes": summary.nodes, "run_dir": str(folder)}
    )
    if row.best is not None and row.base is not None:
        try:
            row = row.model_copy(update={"gain": normalized_gain(row.best, row.base, row.reference)})
        except GainError as exc:
            row = row.model_copy(update={"error": str(exc)})
    return row


def _cell(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def markdown_table(rows: list[BenchRow]) -> str:
    """Table 3 of the paper for these runs: reference, base and best test scores, normalized gain."""
    lines = [
        "| task | metric | reference (paper) | base (paper) | base (this run) | best (this run) | normalized gain |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [r.title, r.metric, _cell(r.reference), _cell(r.paper_base), _cell(r.base), _cell(r.best)]
        cells.append(_cell(r.gain) if r.error is None else f"error: {r.error.splitlines()[0][:120]}")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Scores on each task's test split. Gain = (best - base) / (reference - base), with the base model's")
    lines.append("score measured in this run and the paper's Qwen3-235B-2507 score as the reference.")
    return "\n".join(lines) + "\n"


def html_table(rows: list[BenchRow]) -> str:
    """A self-contained page with the same table, each task linking to its run's report."""
    body = []
    for r in rows:
        name = html.escape(r.title)
        if r.run_dir:
            name = f'<a href="{html.escape(r.name)}/run/report.html">{name}</a>'
        last = _cell(r.gain) if r.error is None else "error: " + html.escape(r.error.splitlines()[0][:200])
        cells = [name, html.escape(r.metric), *(map(_cell, (r.reference, r.paper_base, r.base, r.best))), last]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = "".join(
        f"<th>{h}</th>"
        for h in ("task", "metric", "reference (paper)", "base (paper)", "base", "best", "normalized gain")
    )
    return (
        "<!doctype html><meta charset='utf-8'><title>trex FT-Bench</title>"
        "<style>body{font:14px sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:4px 8px}"
        "table{border-collapse:collapse}</style><h1>FT-Bench</h1>"
        f"<table><tr>{head}</tr>{''.join(body)}</table>"
    )


def write_tables(workspace: Path, rows: list[BenchRow]) -> tuple[Path, Path]:
    workspace.mkdir(parents=True, exist_ok=True)
    md, page = workspace / "bench.md", workspace / "bench.html"
    md.write_text(markdown_table(rows), encoding="utf-8")
    page.write_text(html_table(rows), encoding="utf-8")
    (workspace / "bench.json").write_text(json.dumps([r.model_dump() for r in rows], indent=1), encoding="utf-8")
    return md, page


def stored_row(task: BenchTask, workspace: Path) -> BenchRow | None:
    """The row of a task already run in this workspace (for tables over several invocations)."""
    folder = workspace / task.name / "run"
    if not (folder / Store.DB_FILE).exists():
        return None
    from trex.loop import summarize

    store = Store.open_existing(folder)
    try:
        summary = summarize(store)
    finally:
        store.close()
    return _with_result(_empty_row(task), summary, workspace / task.name)
