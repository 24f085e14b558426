"""Commands that read a workspace: ``status``, ``report``, ``serve``, ``export``, ``replay``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from trex.cli.common import console, fail
from trex.cli.common import num as _num

if TYPE_CHECKING:
    from trex.store import Store, StoredJob

TABLE_ROWS = 40


def status(
    workspace: Annotated[Path, typer.Argument(help="workspace of a run")],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
    show_all: Annotated[
        bool, typer.Option("--all", help=f"every node, not only the best path and the newest {TABLE_ROWS}")
    ] = False,
) -> None:
    """The tree as a table (or JSON)."""
    from trex.report.status import STATUS_KEYS, focus_nodes, format_value, run_status, usage_line

    data = run_status(_open(workspace))
    if as_json:
        typer.echo(json.dumps(data))
        return
    table = Table(title=f"trex: {data['task']}")
    for column in ("id", "parent", "depth", "strategy", "status", "N", "Q", "reward", "val", "test", "configs"):
        table.add_column(column)
    best_id = (data["best"] or {}).get("id")
    nodes = data["nodes"] if show_all else focus_nodes(data["nodes"], best_id, TABLE_ROWS)
    for n in nodes:
        cells = [format_value(n[k]) for k in STATUS_KEYS]
        table.add_row(*cells, style="bold green" if n["id"] == best_id else None)
    (console if console.is_terminal else Console(width=160)).print(table)  # a pipe is no 80-column terminal
    if len(nodes) < len(data["nodes"]):
        console.print(f"{len(data['nodes']) - len(nodes)} more nodes: trex status --all, or --json")
    base = data["base"] or {}
    console.print(f"base model: val {_num(base.get('val'))}  test {_num(base.get('test'))}")
    console.print(f"budget used: {usage_line(data['usage'])}")
    if data.get("llm_fallbacks"):
        console.print(f"warning: the LLM researcher failed {data['llm_fallbacks']} time(s); the heuristic planned")
    stopped = data["stopped"]
    if stopped:
        console.print(f"stopped: {stopped['reason']}" + (f" (limit: {stopped['limit']})" if stopped["limit"] else ""))


def serve(
    workspace: Annotated[Path, typer.Argument(help="workspace of a run (running or finished)")],
    port: Annotated[int, typer.Option(help="port to listen on")] = 8765,
    host: Annotated[str, typer.Option(help="address to bind (127.0.0.1: this machine only)")] = "127.0.0.1",
) -> None:
    """Serve WORKSPACE's report over HTTP, updated live while the run goes on; its form steers the run with the
    token printed at start."""
    from trex.report.serve import make_server
    from trex.store import StoreError

    try:
        server = make_server(workspace, port, host)
    except (StoreError, OSError, ValueError) as exc:  # ValueError: a port outside 0..65535
        fail(str(exc), 2)
        return
    console.print(f"serving {workspace} at http://{host}:{server.server_port}/ (Ctrl-C stops)")
    console.print(f"steering token (the page's form asks for it): {server.steer_token}", markup=False)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def report(workspace: Annotated[Path, typer.Argument(help="workspace of a run")]) -> None:
    """(Re)write WORKSPACE/report.html."""
    from trex.report.html import write_report

    console.print(f"report: {write_report(_open(workspace))}")


def _open(workspace: Path):  # noqa: ANN202 (Store is imported lazily)
    from trex.store import Store, StoreError

    try:
        return Store.open_existing(workspace)
    except StoreError as exc:
        fail(str(exc), 2)


def _node_job(store: Store, node: int | None, config: int | None) -> tuple[int, StoredJob]:
    """The job a command acts on: the node's winning job, or its config number ``config`` (0-based)."""
    from trex.report.status import run_status

    if node is None:
        best = run_status(store)["best"]
        if best is None:
            fail("no finished node with a score in this run", 2)
        node = best["id"]
    jobs = store.jobs_of(node)
    if not jobs:
        fail(f"no node {node} in this run", 2)
    if config is None:
        chosen = store.node_row(node)["best_job"]
        match = [j for j in jobs if j.hash == chosen]
        if not match:
            fail(f"node {node} has no winning job (it failed or has not finished)", 2)
        return node, match[0]
    if not 0 <= config < len(jobs):
        fail(f"--config {config}: node {node} has configs 0..{len(jobs) - 1}", 2)
    return node, jobs[config]


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
    from trex.train.export import ExportError, export_model

    store = _open(workspace)
    node_id, stored = _node_job(store, node, None)
    job, result = stored.job, stored.result
    try:
        what = export_model(job.base_model, Path(stored.workdir) if job.train else None, out, merge=not adapter)
    except ExportError as exc:
        fail(str(exc), 2)
    card = model_card(store.get_meta("task_name", ""), store.get_meta("objective", ""), node_id, job, result, what)
    (out / "README.md").write_text(card, encoding="utf-8")
    from trex.run.verify import write_export_record

    write_export_record(store, out, node_id, stored.hash, job.base_model)  # what `trex verify` checks
    console.print(f"exported node {node_id} ({what}) to {out}")


def replay(
    workspace: Annotated[Path, typer.Argument(help="workspace of a run")],
    node: Annotated[int, typer.Argument(help="node whose job to rerun")],
    config: Annotated[int | None, typer.Option(help="the node's config number, 0-based (default: its winner)")] = None,
) -> None:
    """Rerun a node's job from its stored specification in a new folder; print old and new scores."""
    import time

    from trex.run.executor import Executor
    from trex.runtime.local import LocalScheduler

    store = _open(workspace)
    node_id, row = _node_job(store, node, config)
    original = row.result
    if original is None:
        fail(f"node {node_id}'s job {row.hash} has not finished: nothing to compare a replay with", 2)
        return
    folder = workspace / "replays" / f"node{node_id}-{row.hash}-{int(time.time())}"
    new = Executor(store, LocalScheduler()).replay(row.hash, folder)
    if new.status != "ok":
        fail(f"replay failed: {new.error} (see {folder / 'log.txt'})", 1)
    table = Table(title=f"node {node_id}, job {row.hash} ({row.name})")
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
