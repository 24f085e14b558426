"""How the data of the two real example tasks were made: run once by hand, its output committed.

    .venv/bin/python examples/tasks/prepare_real_data.py GOEMOTIONS_REPO E2E_REPO

Each argument is a git directory of a public snapshot, read with ``git show COMMIT:PATH`` at the commit
recorded below; the output goes to ``src/trex/assets/data/`` (gzipped JSONL, one folder per dataset), which
ships inside the trex package and is read by ``trex.assets.shipped`` (``embedded:goemotions/SPLIT``,
``embedded:e2e_nlg/SPLIT``). Nothing here runs at run time and nothing is downloaded.

- **GoEmotions, Ekman taxonomy** (Demszky et al., ACL 2020; data Apache-2.0, google-research/goemotions),
  as mapped to Ekman's six emotions plus neutral by monologg/GoEmotions-pytorch (Apache-2.0), commit
  ``b75f9d3a8b76bc1060687925b04ca98a1b8ea66b``, ``data/ekman/{train,dev,test}.tsv``. Only comments with one
  label are kept (the task is single-label). train: every such row of ``train.tsv``; validation: 300 rows of
  ``dev.tsv``, test: 300 rows of ``test.tsv``, each a seeded sample (seed 13) that keeps the natural imbalance.
- **E2E NLG** (Novikova et al., SIGDIAL 2017; CC BY-SA 4.0), tuetschek/e2e-dataset, commit
  ``ab0d967dd5729ce455ef14ba9ffafc456a335264``. The snapshot lacks ``trainset.csv``, so train is ``devset.csv``
  (4,672 references of 547 meaning representations) and validation and test come from ``testset_w_refs.csv``,
  whose meaning representations are disjoint from the dev set's: 100 and 200 distinct ones (seed 13), each with
  one of its human references drawn at random (trex scores against one reference).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import subprocess
import sys
from pathlib import Path

GOEMOTIONS_COMMIT = "b75f9d3a8b76bc1060687925b04ca98a1b8ea66b"
E2E_COMMIT = "ab0d967dd5729ce455ef14ba9ffafc456a335264"
OUT = Path(__file__).resolve().parents[2] / "src" / "trex" / "assets" / "data"
SEED = 13


def show(repo: str, commit: str, path: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", repo, "show", f"{commit}:{path}"], capture_output=True, text=True, check=True
    ).stdout


def write(name: str, split: str, rows: list[dict[str, str]]) -> None:
    folder = OUT / name
    folder.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    (folder / f"{split}.jsonl.gz").write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))
    print(f"{name}/{split}: {len(rows)} rows", file=sys.stderr)


def goemotions(repo: str) -> None:
    labels = show(repo, GOEMOTIONS_COMMIT, "data/ekman/labels.txt").split()

    def single(path: str) -> list[dict[str, str]]:
        rows = []
        for line in show(repo, GOEMOTIONS_COMMIT, path).splitlines():
            text, ids, _ = line.split("\t")
            if "," not in ids:
                rows.append({"text": " ".join(text.split()), "label": labels[int(ids)]})
        return rows

    write("goemotions", "train", single("data/ekman/train.tsv"))
    for split, path in (("validation", "data/ekman/dev.tsv"), ("test", "data/ekman/test.tsv")):
        write("goemotions", split, random.Random(SEED).sample(single(path), 300))


def e2e(repo: str) -> None:
    def rows(path: str) -> list[dict[str, str]]:
        return [
            {"mr": r["mr"], "ref": " ".join(r["ref"].split())}
            for r in csv.DictReader(io.StringIO(show(repo, E2E_COMMIT, path)))
        ]

    write("e2e_nlg", "train", rows("devset.csv"))
    by_mr: dict[str, list[str]] = {}
    for row in rows("testset_w_refs.csv"):
        by_mr.setdefault(row["mr"], []).append(row["ref"])
    rng = random.Random(SEED)
    chosen = rng.sample(sorted(by_mr), 300)
    picked = [{"mr": mr, "ref": rng.choice(by_mr[mr])} for mr in chosen]
    write("e2e_nlg", "validation", picked[:100])
    write("e2e_nlg", "test", picked[100:])


if __name__ == "__main__":
    goemotions(sys.argv[1])
    e2e(sys.argv[2])
