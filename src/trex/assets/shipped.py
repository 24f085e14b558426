"""Real data that ships inside the trex package: the example tasks beyond the demo.

``src/trex/assets/data/NAME/SPLIT.jsonl.gz`` holds each split as gzipped JSONL (made once by
``examples/tasks/prepare_real_data.py``; sources, commits and licenses in ``data/README.md``). A task names
them as ``embedded:NAME/SPLIT``; ``shipped_split`` unpacks one into the cache once (atomically, as every
embedded asset) and returns the plain JSONL path the loaders read.

- ``goemotions``: Reddit comments labelled with one of Ekman's six emotions or neutral (seven imbalanced
  classes, joy 38% to fear 1.4% of train); fields ``text``, ``label``.
- ``e2e_nlg``: restaurant meaning representations (``mr``) and one human sentence each (``ref``), about 30
  tokens; a data-to-text generation task.

Guarantees: the files are read, never downloaded; a missing file (a broken install) raises ``FileNotFoundError``
naming it. Not guaranteed: that an older cache matches newer shipped files (bump ``SHIPPED_VERSION`` when
they change).
"""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Callable
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
SHIPPED = ("goemotions", "e2e_nlg")
SHIPPED_VERSION = 1
SPLITS = ("train", "validation", "test")


def unpack(name: str) -> Callable[[Path], None]:
    """A builder for ``_build_once``: every split of ``name`` unpacked into ``out``."""

    def build(out: Path) -> None:
        for split in SPLITS:
            source = DATA_DIR / name / f"{split}.jsonl.gz"
            if not source.exists():
                raise FileNotFoundError(f"{source} is missing: the trex install lacks its package data")
            with gzip.open(source, "rb") as packed, (out / f"{split}.jsonl").open("wb") as plain:
                shutil.copyfileobj(packed, plain)

    return build
