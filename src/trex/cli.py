"""The ``trex`` command: parse, call the API, print with rich. Nothing else prints.

Exit codes: 0 done; 2 bad input (task file, arguments, workspace); 1 anything else, always with a
one-line reason on stderr.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from trex import __version__

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="trex: automated LLM fine-tuning research.",
)
console = Console(soft_wrap=True)
err = Console(stderr=True)


class BadInput(Exception):
    """Exit code 2."""


def _fail(message: str, code: int) -> None:
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        console.print(f"trex {__version__}")
        raise typer.Exit(0)


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version")
    ] = False,
) -> None:
    """trex: a task file in, a searched tree of experiments, a tuned model and a report out."""


def _run(workspace: Path, task_path: Path | None, overrides: dict) -> None:
    from trex.loop import RunOptions, SearchLoop, start_run
    from trex.store import Store, StoreError
    from trex.task import TaskError, load_task

    try:
        if task_path is not None:
            task = load_task(task_path)
            options = RunOptions(**overrides)
            store = start_run(workspace, task, task_path, options)
        else:
            store = Store.open_existing(workspace)
            task = load_task(workspace / "task.yaml", base_dir=Path(store.get_meta("task_dir", str(workspace))))
            stored = store.get_meta("options") or {}
            options = RunOptions(**{**stored, **{k: v for k, v in overrides.items() if v is not None}})
        loop = SearchLoop(
            store, task, options, listener=lambda m: console.print(f"[cyan]trex[/cyan] {m}", highlight=False)
        )
    except (TaskError, StoreError, ValueError) as exc:
        _fail(str(exc), 2)
        return
    summary = loop.run(on_iteration=lambda: _write_report(store))
    report = _write_report(store)
    console.print(f"[green]stopped:[/green] {summary.stop_reason}; {summary.nodes} nodes")
    console.print(f"base model: val {_num(summary.base_val)}  test {_num(summary.base_test)}")
    console.print(f"best node {summary.best_node}: val {_num(summary.best_val)}  test {_num(summary.best_test)}")
    console.print(f"report: {report}")


def _write_report(store) -> Path | None:  # noqa: ANN001 (Store is imported lazily)
    """A report that cannot be written is a warning: the search and its store matter more."""
    from trex.report.html import write_report

    try:
        return write_report(store)
    except Exception as exc:  # the report must never take the run down
        err.print(f"[yellow]warning:[/yellow] report not written: {type(exc).__name__}: {exc}", highlight=False)
        return None


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"


@app.command()
def run(
    task: Annotated[Path, typer.Argument(help="task file (YAML)")],
    workspace: Annotated[Path, typer.Option("--workspace", "-w", help="folder for the run's store and artifacts")],
    iterations: Annotated[int | None, typer.Option(min=1, help="nodes in the tree, root included")] = None,
    policy: Annotated[str, typer.Option(help="mcts | gbfs | ses | random")] = "mcts",
    researcher: Annotated[str, typer.Option(help="heuristic | llm")] = "heuristic",
    scheduler: Annotated[str, typer.Option(help="local | ray")] = "local",
    seed: Annotated[int, typer.Option(help="seed of the search and the jobs")] = 0,
    llm_model: Annotated[str | None, typer.Option(help="model name for --researcher llm")] = None,
    llm_base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL")] = None,
    ray_address: Annotated[str | None, typer.Option(help="Ray cluster address (default: local Ray)")] = None,
) -> None:
    """Run the search on TASK, writing everything under WORKSPACE."""
    overrides = {
        "iterations": iterations,
        "policy": policy,
        "researcher": researcher,
        "scheduler": scheduler,
        "seed": seed,
        "llm_model": llm_model,
        "llm_base_url": llm_base_url,
        "ray_address": ray_address,
    }
    _check_choices(
        policy=(policy, ("mcts", "gbfs", "ses", "random")),
        researcher=(researcher, ("heuristic", "llm")),
        scheduler=(scheduler, ("local", "ray")),
    )
    if not task.exists():
        _fail(f"{task}: task file not found", 2)
    _run(workspace, task, overrides)


def _check_choices(**pairs: tuple[str, tuple[str, ...]]) -> None:
    for name, (value, allowed) in pairs.items():
        if value not in allowed:
            _fail(f"--{name}: {value!r} is not one of {', '.join(allowed)}", 2)


@app.command()
def resume(
    workspace: Annotated[Path, typer.Argument(help="workspace of a stopped or killed run")],
    iterations: Annotated[int | None, typer.Option(min=1, help="new target number of nodes")] = None,
) -> None:
    """Continue a stopped or killed run; finished jobs are never run again."""
    _run(workspace, None, {"iterations": iterations})


@app.command()
def status(
    workspace: Annotated[Path, typer.Argument(help="workspace of a run")],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
) -> None:
    """The tree as a table (or JSON)."""
    from trex.report.status import STATUS_KEYS, format_value, run_status
    from trex.store import Store, StoreError

    try:
        store = Store.open_existing(workspace)
    except StoreError as exc:
        _fail(str(exc), 2)
        return
    data = run_status(store)
    if as_json:
        typer.echo(json.dumps(data))
        return
    table = Table(title=f"trex: {data['task']}")
    for column in ("id", "parent", "depth", "strategy", "status", "N", "Q", "reward", "val", "test", "configs"):
        table.add_column(column)
    best_id = (data["best"] or {}).get("id")
    for n in data["nodes"]:
        cells = [format_value(n[k]) for k in STATUS_KEYS]
        table.add_row(*cells, style="bold green" if n["id"] == best_id else None)
    (console if console.is_terminal else Console(width=160)).print(table)  # a pipe is no 80-column terminal
    base = data["base"] or {}
    console.print(f"base model: val {_num(base.get('val'))}  test {_num(base.get('test'))}")


@app.command()
def report(workspace: Annotated[Path, typer.Argument(help="workspace of a run")]) -> None:
    """(Re)write WORKSPACE/report.html."""
    from trex.report.html import write_report
    from trex.store import Store, StoreError

    try:
        store = Store.open_existing(workspace)
    except StoreError as exc:
        _fail(str(exc), 2)
        return
    console.print(f"report: {write_report(store)}")


def entry() -> None:
    """Console entry point: unexpected errors exit 1 with a one-line reason."""
    try:
        app(standalone_mode=True)
    except SystemExit:
        raise
    except Exception as exc:  # the promised one-line reason instead of a traceback
        err.print(f"[red]error:[/red] {type(exc).__name__}: {exc}", highlight=False)
        raise SystemExit(1) from None
