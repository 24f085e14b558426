"""The ``trex`` command line (typer): ``trex.cli:entry`` is the console script."""

from trex.cli.app import app, entry

__all__ = ["app", "entry"]
