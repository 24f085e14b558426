"""Commands that make a run trustworthy: ``verify`` (the evaluation, the base model and the exports re-hashed) and
``steer`` (a person pins, prunes or annotates the search)."""

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


def steer(
    workspace: Annotated[Path, typer.Argument(help="workspace of a run (running or stopped)")],
    action: Annotated[str, typer.Argument(help="pin NODE | prune NODE | note NODE TEXT | hypothesis TEXT")],
    target: Annotated[str, typer.Argument(help="the node (pin, prune, note) or the hypothesis' text")],
    text: Annotated[str | None, typer.Argument(help="the note's text")] = None,
) -> None:
    """Steer a run: a pinned node is expanded next, a pruned subtree never selected again, a note or hypothesis
    reaches the researcher's memory as yours. Written at once (no lock); the run applies it at its next selection,
    a stopped run at its next resume."""
    from trex.run.steering import SteerError
    from trex.run.steering import steer as write_action
    from trex.store import Store, StoreError

    if action == "hypothesis":
        node, text = None, " ".join(t for t in (target, text) if t)
    elif not target.isdigit():
        fail(f"{action}: {target!r} is not a node id", 2)
        return
    else:
        node = int(target)
        if action in ("pin", "prune") and text:
            fail(f"{action} takes a node only, not a text", 2)
    try:
        store = Store.open_existing(workspace)
        event = write_action(store, action, node, text or "")
    except (StoreError, SteerError) as exc:
        fail(str(exc), 2)
        return
    what = f"node {node}" if node is not None else "the run"
    console.print(f"{action} on {what}: written (event {event}); the run applies it at its next selection, a stopped "
                  "run at its next resume", markup=False)  # fmt: skip
