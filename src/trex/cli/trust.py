"""Commands that make a run trustworthy: ``verify`` (the evaluation, the base model and the exports re-hashed)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trex.cli.common import console, fail


def verify(
    workspace: Annotated[Path, typer.Argument(help="workspace of a run")],
    export: Annotated[
        list[Path] | None, typer.Option("--export", help="an exported model folder to check (default: the run's)")
    ] = None,
) -> None:
    """Re-hash the evaluation files, the metric code and the base model the run recorded at its start, and check
    that each exported model's base is the task's; exit 0 when all match, 1 naming each changed file."""
    from trex.run.verify import verify_run
    from trex.store import Store, StoreError

    try:
        store = Store.open_existing(workspace, read_only=True)
    except StoreError as exc:
        fail(str(exc), 2)
        return
    verdict = verify_run(store, export or None)
    for line in verdict.checked:
        console.print(f"checked: {line}", markup=False, highlight=False)
    for line in verdict.changed:
        console.print(f"changed: {line}", markup=False, highlight=False, style="red")
    if not verdict.ok:
        fail(f"{len(verdict.changed)} change(s) since the run started: " + "; ".join(verdict.changed), 1)
    console.print("verified: everything the run recorded matches")
