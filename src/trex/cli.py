"""The ``trex`` command: parse, call the API, print with rich. Nothing else prints.

Exit codes: 0 done; 2 bad input (task file, arguments, workspace); 1 anything else, always with a
one-line reason on stderr.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from trex import __version__
from trex.cli_aidp import aidp_app
from trex.cli_bench import bench_app
from trex.cli_common import console, err, fail

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="trex: automated LLM fine-tuning research.",
)
app.add_typer(bench_app, name="bench")
app.add_typer(aidp_app, name="aidp")
_fail = fail


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
            store.set_meta("options", options.model_dump())  # a later resume keeps the new limits
        loop = SearchLoop(
            store, task, options, listener=lambda m: console.print(f"[cyan]trex[/cyan] {m}", highlight=False)
        )
    except ValidationError as exc:  # run options: one line per problem, no pydantic banner
        _fail("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors()), 2)
        return
    except (TaskError, StoreError, ValueError, ImportError) as exc:  # ImportError: an extra is missing
        _fail(str(exc), 2)
        return
    if console.is_terminal:  # bars for the search and each running job; plain lines in a pipe or a log
        from trex.report.progress import RunProgress

        target = options.iterations or loop.task.limits.max_iterations
        with RunProgress(store.workspace, target, console) as progress:
            loop.say = progress.say
            summary = loop.run(on_iteration=lambda: _write_report(store))
            progress.refresh()
    else:
        summary = loop.run(on_iteration=lambda: _write_report(store))
    report = _write_report(store)
    limit = f" (limit: {summary.stopped_by})" if summary.stopped_by else ""
    console.print(f"[green]stopped:[/green] {summary.stop_reason}{limit}; {summary.nodes} nodes")
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


# limits shared by run and resume: they override the task file's `limits`
MaxSamples = Annotated[int | None, typer.Option(min=1, help="training rows per experiment (task: max_train_samples)")]
WallClock = Annotated[float | None, typer.Option(min=0.001, help="wall-clock budget of the run, all sessions")]
GpuHours = Annotated[float | None, typer.Option(min=0.0001, help="GPU-hour budget (job seconds x GPUs held)")]
LlmUsd = Annotated[float | None, typer.Option(min=0.0001, help="LLM budget in USD (researcher calls)")]
Track = Annotated[
    str | None,
    typer.Option(help="log every job to trackio or mlflow (local-first; extras 'trackio', 'mlflow')"),
]


@app.command()
def run(
    task: Annotated[Path, typer.Argument(help="task file (YAML)")],
    workspace: Annotated[Path, typer.Option("--workspace", "-w", help="folder for the run's store and artifacts")],
    iterations: Annotated[int | None, typer.Option(min=1, help="nodes in the tree, root included")] = None,
    policy: Annotated[str, typer.Option(help="mcts | gbfs | ses | random")] = "mcts",
    researcher: Annotated[
        str, typer.Option(help="heuristic | llm | random (the control of benchmarks/researcher_vs_random.py)")
    ] = "heuristic",
    scheduler: Annotated[str, typer.Option(help="local | ray | slurm")] = "local",
    seed: Annotated[int, typer.Option(help="seed of the search and the jobs")] = 0,
    llm_model: Annotated[
        str | None,
        typer.Option(
            help="model name for --researcher llm; without --llm-base-url, embedded:smollm2-135m-instruct "
            "or a .gguf path runs offline in llama.cpp (extra 'llamacpp')"
        ),
    ] = None,
    llm_base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible base URL")] = None,
    llm_api_key_env: Annotated[str, typer.Option(help="environment variable holding the API key")] = "OPENAI_API_KEY",
    ray_address: Annotated[str | None, typer.Option(help="Ray cluster address (default: local Ray)")] = None,
    slurm_partition: Annotated[str | None, typer.Option(help="Slurm partition for --scheduler slurm")] = None,
    max_train_samples: MaxSamples = None,
    wall_clock_minutes: WallClock = None,
    gpu_hours: GpuHours = None,
    llm_usd: LlmUsd = None,
    track: Track = None,
    eval_backend: Annotated[
        str, typer.Option(help="hf | vllm: generate-mode evaluation through a vLLM server ($TREX_VLLM)")
    ] = "hf",
) -> None:
    """Run the search on TASK, writing everything under WORKSPACE."""
    overrides = {
        "track": track,
        "eval_backend": eval_backend,
        "max_train_samples": max_train_samples,
        "wall_clock_minutes": wall_clock_minutes,
        "gpu_hours": gpu_hours,
        "llm_usd": llm_usd,
        "iterations": iterations,
        "policy": policy,
        "researcher": researcher,
        "scheduler": scheduler,
        "seed": seed,
        "llm_model": llm_model,
        "llm_base_url": llm_base_url,
        "llm_api_key_env": llm_api_key_env,
        "ray_address": ray_address,
        "slurm_partition": slurm_partition,
    }
    _check_choices(
        policy=(policy, ("mcts", "gbfs", "ses", "random")),
        researcher=(researcher, ("heuristic", "llm", "random")),
        scheduler=(scheduler, ("local", "ray", "slurm")),
        eval_backend=(eval_backend, ("hf", "vllm")),
    )
    if track is not None:
        _check_choices(track=(track, ("trackio", "mlflow")))
    if not task.exists():
        _fail(f"{task}: task file not found", 2)
    _run(workspace, task, overrides)


def _check_choices(**pairs: tuple[str, tuple[str, ...]]) -> None:
    for name, (value, allowed) in pairs.items():
        if value not in allowed:
            _fail(f"--{name.replace('_', '-')}: {value!r} is not one of {', '.join(allowed)}", 2)


@app.command()
def resume(
    workspace: Annotated[Path, typer.Argument(help="workspace of a stopped or killed run")],
    iterations: Annotated[int | None, typer.Option(min=1, help="new target number of nodes")] = None,
    max_train_samples: MaxSamples = None,
    wall_clock_minutes: WallClock = None,
    gpu_hours: GpuHours = None,
    llm_usd: LlmUsd = None,
    track: Track = None,
) -> None:
    """Continue a stopped or killed run; finished jobs are never run again. Limits given here replace
    the stored ones (e.g. a larger --wall-clock-minutes to go on after a budget stop)."""
    if track is not None:
        _check_choices(track=(track, ("trackio", "mlflow")))
    overrides = {
        "track": track,
        "iterations": iterations,
        "max_train_samples": max_train_samples,
        "wall_clock_minutes": wall_clock_minutes,
        "gpu_hours": gpu_hours,
        "llm_usd": llm_usd,
    }
    _run(workspace, None, overrides)


TABLE_ROWS = 40


def _table_nodes(nodes: list[dict], best_id: int | None) -> list[dict]:
    from trex.report.status import focus_nodes

    return focus_nodes(nodes, best_id, TABLE_ROWS)


@app.command()
def status(
    workspace: Annotated[Path, typer.Argument(help="workspace of a run")],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
    show_all: Annotated[
        bool, typer.Option("--all", help=f"every node, not only the best path and the newest {TABLE_ROWS}")
    ] = False,
) -> None:
    """The tree as a table (or JSON)."""
    from trex.report.status import STATUS_KEYS, format_value, run_status, usage_line

    data = run_status(_open(workspace))
    if as_json:
        typer.echo(json.dumps(data))
        return
    table = Table(title=f"trex: {data['task']}")
    for column in ("id", "parent", "depth", "strategy", "status", "N", "Q", "reward", "val", "test", "configs"):
        table.add_column(column)
    best_id = (data["best"] or {}).get("id")
    nodes = data["nodes"] if show_all else _table_nodes(data["nodes"], best_id)
    for n in nodes:
        cells = [format_value(n[k]) for k in STATUS_KEYS]
        table.add_row(*cells, style="bold green" if n["id"] == best_id else None)
    (console if console.is_terminal else Console(width=160)).print(table)  # a pipe is no 80-column terminal
    if len(nodes) < len(data["nodes"]):
        console.print(f"{len(data['nodes']) - len(nodes)} more nodes: trex status --all, or --json")
    base = data["base"] or {}
    console.print(f"base model: val {_num(base.get('val'))}  test {_num(base.get('test'))}")
    console.print(f"budget used: {usage_line(data['usage'])}")
    stopped = data["stopped"]
    if stopped:
        console.print(f"stopped: {stopped['reason']}" + (f" (limit: {stopped['limit']})" if stopped["limit"] else ""))


@app.command()
def serve(
    workspace: Annotated[Path, typer.Argument(help="workspace of a run (running or finished)")],
    port: Annotated[int, typer.Option(help="port to listen on")] = 8765,
    host: Annotated[str, typer.Option(help="address to bind (127.0.0.1: this machine only)")] = "127.0.0.1",
) -> None:
    """Serve WORKSPACE's report over HTTP, updated live while the run goes on (read-only)."""
    from trex.report.serve import make_server
    from trex.store import StoreError

    try:
        server = make_server(workspace, port, host)
    except (StoreError, OSError) as exc:
        _fail(str(exc), 2)
        return
    console.print(f"serving {workspace} at http://{host}:{server.server_port}/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@app.command()
def report(workspace: Annotated[Path, typer.Argument(help="workspace of a run")]) -> None:
    """(Re)write WORKSPACE/report.html."""
    from trex.report.html import write_report

    console.print(f"report: {write_report(_open(workspace))}")


def entry() -> None:
    """Console entry point: unexpected errors exit 1 with a one-line reason."""
    try:
        app(standalone_mode=True)
    except SystemExit:
        raise
    except Exception as exc:  # the promised one-line reason instead of a traceback
        err.print(f"[red]error:[/red] {type(exc).__name__}: {exc}", highlight=False)
        raise SystemExit(1) from None


def _open(workspace: Path):  # noqa: ANN202 (Store is imported lazily)
    from trex.store import Store, StoreError

    try:
        return Store.open_existing(workspace)
    except StoreError as exc:
        _fail(str(exc), 2)


def _node_job(store, node: int | None, config: int | None) -> tuple[int, dict]:  # noqa: ANN001
    """The job a command acts on: the node's winning job, or its config number ``config`` (0-based)."""
    from trex.report.status import run_status

    if node is None:
        best = run_status(store)["best"]
        if best is None:
            _fail("no finished node with a score in this run", 2)
        node = best["id"]
    jobs = store.node_jobs(node)
    if not jobs:
        _fail(f"no node {node} in this run", 2)
    if config is None:
        chosen = store.node_row(node)["best_job"]
        match = [j for j in jobs if j["hash"] == chosen]
        if not match:
            _fail(f"node {node} has no winning job (it failed or has not finished)", 2)
        return node, match[0]
    if not 0 <= config < len(jobs):
        _fail(f"--config {config}: node {node} has configs 0..{len(jobs) - 1}", 2)
    return node, jobs[config]


@app.command()
def export(
    workspace: Annotated[Path, typer.Argument(help="workspace of a run")],
    out: Annotated[Path, typer.Option("--out", help="folder for the Hugging Face model")],
    node: Annotated[int | None, typer.Option(help="node to export (default: the best)")] = None,
    adapter: Annotated[
        bool, typer.Option("--adapter", help="write the LoRA adapter instead of merged weights")
    ] = False,
) -> None:
    """Write a node's tuned model in Hugging Face format with a model card."""
    from trex.report.card import model_card
    from trex.runtime.job import Job, JobResult
    from trex.train.export import ExportError, export_model

    store = _open(workspace)
    node_id, row = _node_job(store, node, None)
    job, result = Job.model_validate_json(row["spec"]), JobResult.model_validate_json(row["result"])
    try:
        what = export_model(job.base_model, Path(row["workdir"]) if job.train else None, out, merge=not adapter)
    except ExportError as exc:
        _fail(str(exc), 2)
    card = model_card(store.get_meta("task_name", ""), store.get_meta("objective", ""), node_id, job, result, what)
    (out / "README.md").write_text(card, encoding="utf-8")
    console.print(f"exported node {node_id} ({what}) to {out}")


@app.command()
def replay(
    workspace: Annotated[Path, typer.Argument(help="workspace of a run")],
    node: Annotated[int, typer.Argument(help="node whose job to rerun")],
    config: Annotated[int | None, typer.Option(help="the node's config number, 0-based (default: its winner)")] = None,
) -> None:
    """Rerun a node's job from its stored specification in a new folder; print old and new scores."""
    import time

    from trex.agents.executor import Executor
    from trex.runtime.job import JobResult
    from trex.runtime.schedulers import LocalScheduler

    store = _open(workspace)
    node_id, row = _node_job(store, node, config)
    original = JobResult.model_validate_json(row["result"])
    folder = workspace / "replays" / f"node{node_id}-{row['hash']}-{int(time.time())}"
    new = Executor(store, LocalScheduler()).replay(row["hash"], folder)
    if new.status != "ok":
        _fail(f"replay failed: {new.error} (see {folder / 'log.txt'})", 1)
    table = Table(title=f"node {node_id}, job {row['hash']} ({row['name']})")
    for column in ("split", "original", "replay"):
        table.add_column(column)
    for split in ("validation", "test"):
        old_s, new_s = getattr(original, split), getattr(new, split)
        table.add_row(
            split,
            *(f"{s.score.value:.4f} [{s.score.low:.3f}, {s.score.high:.3f}]" if s else "–" for s in (old_s, new_s)),
        )
    (console if console.is_terminal else Console(width=160)).print(table)
    console.print(f"replay: val {_num(new.val_score)} (original {_num(original.val_score)}) in {folder}")
