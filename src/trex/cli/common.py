"""What every ``trex`` sub-command shares: the consoles and the one way to fail (message, exit code)."""

from __future__ import annotations

import typer
from rich.console import Console

console = Console(soft_wrap=True)
err = Console(stderr=True)


def fail(message: str, code: int) -> None:
    """Print a one-line reason on stderr and exit: 2 for bad input, 1 for anything else."""
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def num(value: float | None) -> str:
    """A score as the command line prints it (4 decimals, an en dash when missing)."""
    return "–" if value is None else f"{value:.4f}"
