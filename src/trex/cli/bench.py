"""``trex bench``: list the FT-Bench tasks and run trex on them (see ``trex.bench``)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from trex.cli import options as opt
from trex.cli.common import console, fail, say

bench_app = typer.Typer(no_args_is_help=True, help="FT-Bench: the paper's ten fine-tuning tasks.")


@bench_app.command("list")
def list_tasks(as_json: Annotated[bool, typer.Option("--json", help="a JSON list")] = False) -> None:
    """The tasks: metric, the paper's reference and base scores, sizes, whether they give training data (CS-Bench
    and GTA do not: --researcher llm builds it), and whether their data are reachable."""
    from trex.bench.sources import reachable
    from trex.bench.spec import fixture_meta, load_bench_task, task_names

    tasks = [load_bench_task(name) for name in task_names()]
    with ThreadPoolExecutor(max_workers=len(tasks)) as pool:
        reach = list(pool.map(lambda t: reachable(t.source), tasks))
    rows = [
        {
            "name": t.name,
            "title": t.title,
            "metric": t.metric,
            "reference_score": t.reference_score,
            "base_score": t.base_score,
            "sizes": t.sizes,
            "source": t.source.url,
            "extras": t.extras,
            "reachable": ok,
            "source_checked": t.checked.source if t.checked else None,
            "splits": t.checked.splits if t.checked else None,
            "paper_splits": {k: (v or None) for k, v in t.sizes.items()},
            "split_note": t.split_note,
            "fixture": fixture_meta(t.name).kind,
            "train_split": t.train_split,
        }
        for t, ok in zip(tasks, reach, strict=True)
    ]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(title="FT-Bench (reference: Qwen3-235B-2507, base: Qwen3-1.7B; paper's Table 3)")
    for column in (
        "name",
        "metric",
        "reference",
        "base",
        "paper splits",
        "our splits",
        "checked",
        "fixture",
        "train",
        "splits",
    ):
        table.add_column(column, overflow="fold")
    for r in rows:
        absent = {} if r["train_split"] else {"train": "none"}  # no training split, as in the paper
        paper = "/".join(
            str(absent.get(s) or r["paper_splits"].get(s) or "?") for s in ("train", "validation", "test")
        )
        ours = "–"
        if r["splits"]:
            ours = "/".join(str(absent.get(s) or r["splits"].get(s)) for s in ("train", "validation", "test"))
        table.add_row(
            r["name"],
            r["metric"],
            f"{r['reference_score']:.3f}",
            f"{r['base_score']:.3f}",
            paper,
            ours,
            (r["source_checked"] or "no").split("@")[0],
            r["fixture"],
            "yes" if r["train_split"] else "none: --researcher llm",
            Text(r["split_note"]),
        )
    (console if console.is_terminal else Console(width=160)).print(table)  # a pipe is no 80-column terminal


@bench_app.command("run")
def run(
    task: Annotated[str, typer.Argument(help="a task name (trex bench list) or 'all'")],
    workspace: Annotated[Path, typer.Option("--workspace", "-w", help="folder for every task's data and run")],
    iterations: opt.Iterations = None,
    policy: opt.Policy = "mcts",
    researcher: opt.Researcher = "heuristic",
    seed: opt.Seed = 0,
    llm_model: opt.LlmModel = None,
    llm_base_url: opt.LlmBaseUrl = None,
    max_train_samples: opt.MaxSamples = None,
    wall_clock_minutes: opt.WallClock = None,
    fixtures: Annotated[
        bool,
        typer.Option(
            "--fixtures",
            help="use the packaged slices (<= 50 rows a split) with fixture-sized generation and training, "
            "instead of the real data",
        ),
    ] = False,
    base_model: Annotated[str | None, typer.Option(help="another base model than the paper's Qwen3-1.7B")] = None,
    max_steps: Annotated[int | None, typer.Option(min=1, help="training steps of the root configs")] = None,
    max_examples: Annotated[int | None, typer.Option(min=1, help="score at most this many rows per split")] = None,
    source_dir: Annotated[
        Path | None, typer.Option(help="a local copy of the source (one task), or a folder of copies named by task")
    ] = None,
    reference_model: Annotated[
        str | None, typer.Option(help="measure the reference: this model evaluated as is on the same test split")
    ] = None,
    reference_score: Annotated[
        float | None, typer.Option(help="the reference score on the same test split, as given (one task)")
    ] = None,
) -> None:
    """Run trex on TASK (or all ten) and write WORKSPACE/bench.md and bench.html (the paper's Table 3)."""
    from trex.bench.run import researcher_refusal, run_task, stored_row
    from trex.bench.spec import load_bench_task, task_names
    from trex.bench.table import write_tables
    from trex.run.options import RunOptions

    names = task_names()
    if task != "all" and task not in names:
        fail(f"unknown task {task!r}: one of {', '.join(names)}, or all", 2)
    try:
        options = RunOptions(
            iterations=iterations,
            policy=policy,
            researcher=researcher,
            seed=seed,
            llm_model=llm_model,
            llm_base_url=llm_base_url,
            max_train_samples=max_train_samples,
            wall_clock_minutes=wall_clock_minutes,
        )
    except ValidationError as exc:
        fail("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors()), 2)
        return
    chosen = names if task == "all" else [task]
    if task != "all" and (refusal := researcher_refusal(load_bench_task(task), options)) is not None:
        fail(refusal, 2)  # before its data are fetched; with 'all' such a task is a row with this error
        return
    training = {"max_steps": max_steps} if max_steps else {}
    rows = {}
    for name in chosen:
        say("bench", "cyan", name)
        rows[name] = run_task(
            load_bench_task(name),
            workspace,
            options,
            fixtures=fixtures,
            base_model=base_model,
            training=training,
            max_examples=max_examples,
            listener=lambda m, n=name: say(n, "cyan", m),
            source_dir=None if source_dir is None else (source_dir if task != "all" else source_dir / name),
            reference_model=reference_model,
            reference_score=reference_score if task != "all" else None,
        )
        if rows[name].error:
            say(f"{name} failed:", "red", str(rows[name].error))
    for name in names:  # tasks run earlier in this workspace stay in the table
        if name not in rows and (previous := stored_row(load_bench_task(name), workspace)) is not None:
            rows[name] = previous
    md, page = write_tables(workspace, [rows[n] for n in names if n in rows])
    console.print(md.read_text(encoding="utf-8"))
    console.print(f"tables: {md} {page}")
    if any(rows[n].error for n in chosen):
        raise typer.Exit(1)


@bench_app.command("prepare")
def prepare(
    task: Annotated[str, typer.Argument(help="a task name (trex bench list)")],
    out: Annotated[Path, typer.Option("--out", help="folder for data/{train,validation,test}.jsonl")],
    source_dir: Annotated[Path | None, typer.Option(help="a local copy of the source (default: fetch it)")] = None,
    fixtures: Annotated[bool, typer.Option("--fixtures", help="use the packaged slice")] = False,
) -> None:
    """Write TASK's three splits as trex rows, and print their sizes and the gold answers' self-score."""
    from trex.bench.check import gold_score
    from trex.bench.run import prepare_data
    from trex.bench.sources import SourceError
    from trex.bench.spec import load_bench_task

    try:
        bench_task = load_bench_task(task)
        paths = prepare_data(bench_task, out, fixtures, source_dir)
    except (ValueError, SourceError) as exc:
        fail(str(exc), 2)
        return
    for split, path in paths.items():
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        gold = gold_score(bench_task, rows) if split != "train" else None
        note = "" if gold is None else f", gold answers score {gold:.4f}"
        console.print(f"{split}: {len(rows)} rows -> {path}{note}", markup=False, highlight=False)
