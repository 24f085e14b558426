"""The ``trex`` command: parse, call the API, print with rich. Nothing else prints.

Sub-commands live by what they do: ``run.py`` (run, resume), ``inspect.py`` (status, report,
serve, export, replay), ``trust.py`` (verify, steer), ``bench.py`` (FT-Bench), ``aidp.py`` (data recipes).
Exit codes: 0 done; 2 bad input (task file, arguments, workspace); 1 anything else, always with a
one-line reason on stderr.
"""

from __future__ import annotations

from typing import Annotated

import typer

from trex import __version__
from trex.cli import inspect, run, trust
from trex.cli.aidp import aidp_app
from trex.cli.bench import bench_app
from trex.cli.common import console, err

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="trex: automated LLM fine-tuning research.",
)
app.add_typer(bench_app, name="bench")
app.add_typer(aidp_app, name="aidp")
app.command()(run.run)
app.command()(run.resume)
app.command()(inspect.status)
app.command()(inspect.serve)
app.command()(inspect.report)
app.command()(inspect.export)
app.command()(inspect.replay)
app.command()(trust.verify)
app.command()(trust.steer)


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


def entry() -> None:
    """Console entry point: unexpected errors exit 1 with a one-line reason."""
    try:
        app(standalone_mode=True)
    except SystemExit:
        raise
    except Exception as exc:  # the promised one-line reason instead of a traceback
        from rich.text import Text

        err.print(Text.assemble(("error:", "red"), f" {type(exc).__name__}: {exc}"), highlight=False)
        raise SystemExit(1) from None
