"""AIDP's speed against plain `datasets` code and polars, on synthetic text rows, in one run.

    .venv/bin/python benchmarks/aidp_bench.py [--rows 1000000] [--near-rows 100000] [--json]

Times are the best of three runs (one run for a step over 2 s).
Rows: about 100 characters of words; 25% are exact duplicates of another row (half of them
with other case or spacing, which normalization must catch) and 10% near duplicates (one word
changed). Measured, each as rows per second of input:
- exact dedup (lowercased, whitespace-collapsed text): AIDP ``deduplicate_by_text_hash``; plain
  datasets as the Hugging Face course writes it (``map`` an md5 of the normalized text per row,
  then ``filter`` against a Python set); polars (the same normalization, ``unique`` keeping the
  first row in order) as the speed reference. Also without normalization (AIDP and polars).
- a length filter, select_by_score (top half by a score) and select_by_random (half the rows):
  AIDP against the plain datasets calls (``filter`` per row, ``sort`` + ``select``, ``shuffle`` +
  ``select``).
- near dedup of ``--near-rows`` rows (word 5-grams, Jaccard 0.8, 128 permutations): AIDP's NumPy
  MinHash-LSH against datasketch's MinHash + MinHashLSH, with how many rows each keeps.
polars and datasketch come with the bench extra (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import time
from collections.abc import Callable
from typing import Any

from datasets import Dataset, disable_progress_bars

from trex.aidp.operators import (
    DedupParams,
    FilterParams,
    NearDedupParams,
    RandomParams,
    ScoreParams,
    deduplicate_by_text_hash,
    deduplicate_near,
    select_by_filter,
    select_by_random,
    select_by_score,
)


def synthetic_rows(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    vocab = [f"{w}{i}" for i, w in enumerate(["data", "model", "token", "train", "value", "shift"] * 1700)]
    unique = int(n * 0.65)
    rows = [" ".join(rng.choice(vocab) for _ in range(rng.randint(10, 18))) for _ in range(unique)]
    for _ in range(int(n * 0.25)):
        text = rows[rng.randrange(unique)]
        if rng.random() < 0.5:
            text = text.upper() if rng.random() < 0.5 else text.replace(" ", "  ", 2)
        rows.append(text)
    while len(rows) < n:
        words = rows[rng.randrange(unique)].split()
        words[rng.randrange(len(words))] = rng.choice(vocab)
        rows.append(" ".join(words))
    rng.shuffle(rows)
    return rows


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds of the best of three runs (one run when it takes over 2 s: start-up noise is then small)."""
    best, out = float("inf"), None
    for _ in range(3):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
        if best > 2.0:
            break
    return best, out


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def plain_exact_dedup(ds: Dataset) -> Dataset:
    hashed = ds.map(lambda row: {"hash": hashlib.md5(_norm(row["text"]).encode()).hexdigest()})
    seen: set[str] = set()

    def first(row: dict[str, Any]) -> bool:
        if row["hash"] in seen:
            return False
        seen.add(row["hash"])
        return True

    return hashed.filter(first).remove_columns("hash")


def polars_exact_dedup(ds: Dataset, normalize: bool) -> int:
    import polars as pl

    frame = pl.from_arrow(ds.data.table)
    if normalize:
        key = pl.col("text").str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars()
        return len(frame.with_columns(key.alias("k")).unique(subset="k", keep="first", maintain_order=True))
    return len(frame.unique(subset="text", keep="first", maintain_order=True))


def datasketch_near(texts: list[str], threshold: float, num_perm: int, ngram: int) -> int:
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    kept = 0
    for i, text in enumerate(texts):
        words = _norm(text).split()
        grams = {" ".join(words[j : j + ngram]) for j in range(max(1, len(words) - ngram + 1))}
        m = MinHash(num_perm=num_perm)
        m.update_batch([g.encode() for g in grams])
        if not lsh.query(m):
            lsh.insert(str(i), m)
            kept += 1
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--near-rows", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    disable_progress_bars()
    n = args.rows
    texts = synthetic_rows(n)
    rng = random.Random(1)
    ds = Dataset.from_dict({"text": texts, "score": [rng.random() for _ in range(n)]})
    report: dict[str, Any] = {"rows": n}

    aidp_s, kept = timed(lambda: len(deduplicate_by_text_hash(ds, DedupParams())))
    plain_s, plain_kept = timed(lambda: len(plain_exact_dedup(ds)))
    polars_s, polars_kept = timed(lambda: polars_exact_dedup(ds, normalize=True))
    if not kept == plain_kept == polars_kept:
        raise SystemExit(f"exact dedup disagrees: aidp {kept}, datasets {plain_kept}, polars {polars_kept}")
    report["exact_dedup"] = {
        "aidp_rows_per_s": n / aidp_s,
        "datasets_rows_per_s": n / plain_s,
        "polars_rows_per_s": n / polars_s,
        "kept": kept,
    }
    raw_s, raw_kept = timed(lambda: len(deduplicate_by_text_hash(ds, DedupParams(normalize=False))))
    polars_raw_s, polars_raw_kept = timed(lambda: polars_exact_dedup(ds, normalize=False))
    report["exact_dedup_raw"] = {"aidp_rows_per_s": n / raw_s, "polars_rows_per_s": n / polars_raw_s, "kept": raw_kept}
    assert raw_kept == polars_raw_kept

    cases = {
        "length_filter": (
            lambda: select_by_filter(ds, FilterParams(expression="len(text) >= 100")),
            lambda: ds.filter(lambda row: len(row["text"]) >= 100),
        ),
        "select_by_score": (
            lambda: select_by_score(ds, ScoreParams(column="score", top_p=0.5)),
            lambda: ds.sort("score", reverse=True).select(range(n // 2)),
        ),
        "select_by_random": (
            lambda: select_by_random(ds, RandomParams(n=n // 2, seed=0)),
            lambda: ds.shuffle(seed=0).select(range(n // 2)),
        ),
    }
    for name, (ours, plain) in cases.items():
        ours_s, ours_out = timed(ours)
        plain_s, plain_out = timed(plain)
        assert len(ours_out) == len(plain_out), (name, len(ours_out), len(plain_out))
        report[name] = {"aidp_rows_per_s": n / ours_s, "datasets_rows_per_s": n / plain_s, "kept": len(ours_out)}

    near = Dataset.from_dict({"text": texts[: args.near_rows]})
    near_s, near_kept = timed(lambda: len(deduplicate_near(near, NearDedupParams(threshold=0.8, ngram=5))))
    sketch_s, sketch_kept = timed(lambda: datasketch_near(texts[: args.near_rows], 0.8, 128, 5))
    report.update(
        near_dedup_rows=args.near_rows,
        near_dedup_100k_s=near_s,
        near_dedup_kept=near_kept,
        datasketch_100k_s=sketch_s,
        datasketch_kept=sketch_kept,
    )
    if args.json:
        print(json.dumps(report))
        return
    print(f"{n:,} rows (near dedup: {args.near_rows:,})")
    print(f"{'operation':22} {'aidp rows/s':>14} {'datasets rows/s':>16} {'polars rows/s':>14} {'kept':>9}")
    for name in ("exact_dedup", "exact_dedup_raw", "length_filter", "select_by_score", "select_by_random"):
        row = report[name]
        cells = [f"{row[k]:14,.0f}" if k in row else f"{'':>14}" for k in ("aidp_rows_per_s", "datasets_rows_per_s")]
        polars = f"{row['polars_rows_per_s']:14,.0f}" if "polars_rows_per_s" in row else f"{'':>14}"
        print(f"{name:22} {cells[0]} {cells[1]:>16} {polars} {row['kept']:9,}")
    e = report["exact_dedup"]
    print(
        f"exact dedup: {e['aidp_rows_per_s'] / e['datasets_rows_per_s']:.1f}x plain datasets; "
        f"polars {e['polars_rows_per_s'] / e['aidp_rows_per_s']:.2f}x aidp"
    )
    print(f"near dedup: aidp {near_s:.1f} s (kept {near_kept:,}), datasketch {sketch_s:.1f} s (kept {sketch_kept:,})")


if __name__ == "__main__":
    main()
