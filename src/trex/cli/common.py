"""What every ``trex`` sub-command shares: the consoles and the one way to fail (message, exit code).

User text (file names, messages that quote a task or a data row) is never read as rich markup:
``fail`` and ``say`` style only their own prefix, so ``no[/]such.yaml`` or ``[red on red]`` print as typed.
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.text import Text

# markup off: nothing printed is read as rich markup unless it is a Text built here with its own style
console = Console(soft_wrap=True, markup=False)
err = Console(stderr=True, markup=False)


def fail(message: str, code: int) -> None:
    """Print a one-line reason on stderr and exit: 2 for bad input, 1 for anything else."""
    err.print(Text.assemble(("error:", "red"), " ", message), highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def warn(message: str) -> None:
    """A warning line on stderr; the message is printed as plain text."""
    err.print(Text.assemble(("warning:", "yellow"), " ", message), highlight=False, soft_wrap=True)


def say(prefix: str, style: str, message: str) -> None:
    """A styled prefix and a plain-text message on stdout."""
    console.print(Text.assemble((prefix, style), " ", message), highlight=False)


def num(value: float | None) -> str:
    """A score as the command line prints it (4 decimals, an en dash when missing)."""
    return "–" if value is None else f"{value:.4f}"
