"""``trex aidp``: the AIDP operator library on its own (list operators, run a recipe)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from trex.cli.common import console, fail
from trex.cli.options import WeakSandbox

aidp_app = typer.Typer(no_args_is_help=True, help="AIDP: data operators and recipes.")


@aidp_app.command("ops")
def ops(
    as_json: Annotated[bool, typer.Option("--json", help="a JSON list of {name, category, doc, schema}")] = False,
) -> None:
    """The operators with their parameter schemas and docstrings (the text the researcher is given)."""
    from trex.aidp.catalog import operator_entries

    entries = operator_entries()
    if as_json:
        print(json.dumps(entries, ensure_ascii=False))
        return
    table = Table(title=f"AIDP operators ({len(entries)})", show_lines=True)
    for column in ("name", "category", "what it does", "parameters"):
        table.add_column(column)
    for e in entries:
        props = e["schema"].get("properties", {})
        required = set(e["schema"].get("required", []))
        params = ", ".join(f"{k}{'*' if k in required else ''}" for k in props)
        table.add_row(e["name"], e["category"], e["doc"], params)
    (console if console.is_terminal else Console(width=160)).print(table)
    console.print("* required; `trex aidp ops --json` gives every parameter's schema")


@aidp_app.command("run")
def run(
    recipe: Annotated[Path, typer.Argument(help="recipe file (YAML or JSON): a list of {op, args}")],
    out: Annotated[Path, typer.Option("--out", help="folder for data.parquet, stats.json and recipe.json")],
    allow_weak_sandbox: WeakSandbox = False,
) -> None:
    """Check every step of RECIPE, run it, and save the dataset and per-step statistics in OUT."""
    from trex.aidp.recipe import RecipeError, data_references, fingerprint, load_recipe, run_recipe
    from trex.sandbox.runner import WEAK_ENV, code_refusal

    if allow_weak_sandbox:  # the sandbox reads the choice from the environment
        os.environ[WEAK_ENV] = "1"
    try:
        parsed = load_recipe(recipe)
        parsed.validate_steps()
    except RecipeError as exc:
        fail(str(exc), 2)
        return
    code, refusal = parsed.code_steps(), None
    if code and (refusal := code_refusal()):  # refused before any step runs, not when the step is reached
        fail(f"{recipe}: {code[0]} runs LLM-written code, but {refusal}", 2)
    if out.exists() and any(out.iterdir()):
        fail(f"{out} is not empty: choose a new --out folder", 2)
    from trex.task.datacheck import read_data
    from trex.task.datafiles import DataError

    # the data check: every local file of every step (loaders, mixture sources, evaluation files) read, decoded
    # and parsed before any step runs
    for number, step, ref in data_references(parsed):
        encoding = str(step.args.get("encoding", "utf-8")) if step.op == "load_local_dataset" else "utf-8"
        try:
            read_data(ref, encoding)
        except DataError as exc:
            fail(f"step {number} ({step.op}): {exc}", 2)
    started = time.perf_counter()
    try:
        dataset, stats = run_recipe(parsed)
    except RecipeError as exc:
        fail(str(exc), 1)
        return
    out.mkdir(parents=True, exist_ok=True)
    dataset.to_parquet(str(out / "data.parquet"))
    key = fingerprint(parsed)
    (out / "stats.json").write_text(json.dumps([s.model_dump() for s in stats], indent=1), encoding="utf-8")
    (out / "recipe.json").write_text(
        json.dumps({"fingerprint": key, "steps": [s.model_dump() for s in parsed.steps]}, indent=1), encoding="utf-8"
    )
    table = Table(title=f"{recipe.name}: {len(dataset)} rows in {time.perf_counter() - started:.1f} s")
    for column in ("step", "operator", "rows in", "rows out", "seconds", "dropped because"):
        table.add_column(column)
    for s in stats:
        table.add_row(str(s.step), s.op, str(s.rows_in), str(s.rows_out), f"{s.seconds:.2f}", s.reason or "")
    (console if console.is_terminal else Console(width=160)).print(table)
    console.print(f"data: {out / 'data.parquet'}")
    console.print(f"fingerprint: {key}")
