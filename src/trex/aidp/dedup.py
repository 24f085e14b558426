"""AIDP deduplication and decontamination, column at a time.

- ``deduplicate_by_text_hash``: exact duplicates after normalization (lowercase, collapsed
  whitespace) by Arrow's hash group-by; the first row of each group is kept.
- ``deduplicate_near``: MinHash LSH. Each row's word (or character) n-grams become 64-bit keys;
  ``num_perm`` salted splitmix64 hashes give a signature of minima per row (NumPy, by
  blocks); bands of the signature that collide make candidate pairs, a pair is kept when its
  estimated Jaccard similarity reaches ``threshold``, clusters are joined by vectorized label
  propagation, and the first row of each cluster is kept. Bands and rows per band minimize the
  false positive and negative areas at the threshold, as datasketch does.
- ``decontaminate``: drops training rows sharing any word n-gram with the given evaluation
  files (validation and test inputs), the guard against training on the test.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

import numpy as np
from datasets import Dataset
from pydantic import Field

from trex.aidp.loaders import LoadLocalParams, load_local_dataset
from trex.aidp.registry import OperatorError, Params, arrow_column, need, need_columns, operator
from trex.aidp.text import first_occurrences, mix64, ngram_keys, normalize, token_ids


class DedupParams(Params):
    column: str = "text"
    normalize: bool = Field(default=True, description="compare lowercased, whitespace-collapsed text")


@operator("deduplicate_by_text_hash", "filter", DedupParams, needs=lambda p: [p.column])
def deduplicate_by_text_hash(ds: Dataset | None, p: DedupParams) -> Dataset:
    """Keep the first row of each group of rows whose text is equal (after normalization)."""
    ds = need(ds, "deduplicate_by_text_hash")
    need_columns(ds, [p.column], "deduplicate_by_text_hash")
    column = arrow_column(ds, p.column)
    return ds.select(first_occurrences(normalize(column) if p.normalize else column))


class NearDedupParams(Params):
    column: str = "text"
    threshold: float = Field(default=0.8, gt=0, le=1, description="Jaccard similarity of n-gram sets")
    ngram: int = Field(default=5, ge=1, description="n-gram length in units")
    unit: Literal["word", "char"] = Field(default="word", description="char for Chinese or Japanese text")
    num_perm: int = Field(default=128, ge=8, le=1024)
    seed: int = 0


def _false_areas(threshold: float, bands: int, rows: int) -> float:
    x = np.linspace(0.0, 1.0, 201)
    p = 1.0 - (1.0 - x**rows) ** bands
    fp = np.trapezoid(np.where(x < threshold, p, 0.0), x)
    fn = np.trapezoid(np.where(x >= threshold, 1.0 - p, 0.0), x)
    return float(fp + fn)


@cache
def lsh_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows per band) with bands x rows <= num_perm minimizing false positives plus negatives."""
    candidates = [(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)]
    return min(candidates, key=lambda br: _false_areas(threshold, *br))


def minhash_signatures(keys: np.ndarray, owners: np.ndarray, rows: int, num_perm: int, seed: int) -> np.ndarray:
    """(rows, num_perm) uint32 minima of salted splitmix64 hashes of each row's keys (all-ones for no key).

    Each permutation XORs a random salt into the key before the splitmix64 finalizer, a bijection with
    full avalanche: unlike multiply-shift hashing it stays unbiased on structured (e.g. linear) keys."""
    rng = np.random.default_rng(seed)
    salts = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
    signatures = np.full((rows, num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
    if len(keys) == 0:
        return signatures
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    present = owners[starts]
    block = max(1, 4_000_000 // max(1, len(keys)))  # perms per block: about 32 MB of uint64 at a time
    with np.errstate(over="ignore"):
        for lo in range(0, num_perm, block):
            hi = min(num_perm, lo + block)
            hashed = (mix64(keys[:, None] ^ salts[None, lo:hi]) >> np.uint64(32)).astype(np.uint32)
            signatures[present, lo:hi] = np.minimum.reduceat(hashed, starts, axis=0)
    return signatures


def _components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Each row's smallest connected row index, by min-label propagation with pointer jumping."""
    labels = np.arange(n)
    if len(left) == 0:
        return labels
    while True:
        low = np.minimum(labels[left], labels[right])
        before = labels.copy()
        np.minimum.at(labels, left, low)
        np.minimum.at(labels, right, low)
        labels = labels[labels]
        if np.array_equal(labels, before):
            return labels


def near_duplicate_clusters(signatures: np.ndarray, threshold: float) -> np.ndarray:
    """Cluster label (smallest member index) of every row, from LSH candidates verified on signatures."""
    n, num_perm = signatures.shape
    bands, rows = lsh_bands(threshold, num_perm)
    left_parts, right_parts = [], []
    for band in range(bands):
        chunk = np.ascontiguousarray(signatures[:, band * rows : (band + 1) * rows])
        keys = chunk.view(np.dtype((np.void, chunk.dtype.itemsize * rows))).ravel()
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        partner = first[inverse.ravel()]
        shared = np.flatnonzero(partner != np.arange(n))
        left_parts.append(shared)
        right_parts.append(partner[shared])
    left = np.concatenate(left_parts) if left_parts else np.zeros(0, np.int64)
    right = np.concatenate(right_parts) if right_parts else np.zeros(0, np.int64)
    if len(left):
        pairs = np.unique(np.stack([left, right], axis=1), axis=0)
        left, right = pairs[:, 0], pairs[:, 1]
        agree = np.empty(len(left))
        for lo in range(0, len(left), 65_536):  # estimated Jaccard = share of equal minima
            hi = lo + 65_536
            agree[lo:hi] = (signatures[left[lo:hi]] == signatures[right[lo:hi]]).mean(axis=1)
        keep = agree >= threshold
        left, right = left[keep], right[keep]
    return _components(n, left, right)


@operator("deduplicate_near", "filter", NearDedupParams, needs=lambda p: [p.column])
def deduplicate_near(ds: Dataset | None, p: NearDedupParams) -> Dataset:
    """Drop near-duplicate rows (MinHash LSH on n-grams, Jaccard >= threshold); the first of each cluster stays."""
    ds = need(ds, "deduplicate_near")
    need_columns(ds, [p.column], "deduplicate_near")
    ((ids, offsets),) = token_ids(normalize(arrow_column(ds, p.column)), unit=p.unit)
    keys, owners = ngram_keys(ids, offsets, p.ngram)
    signatures = minhash_signatures(keys, owners, len(ds), p.num_perm, p.seed)
    labels = near_duplicate_clusters(signatures, p.threshold)
    return ds.select(np.flatnonzero(labels == np.arange(len(ds))))


class DecontaminateParams(Params):
    column: str = Field(default="text", description="the training text to check")
    against: list[str] = Field(min_length=1, description="evaluation files (validation, test) to protect")
    against_column: str | None = Field(default=None, description="their text column (default: column)")
    ngram: int = Field(default=8, ge=1, description="n-gram length: a shared n-gram drops the row")
    unit: Literal["word", "char"] = "word"


@operator("decontaminate", "filter", DecontaminateParams, needs=lambda p: [p.column])
def decontaminate(ds: Dataset | None, p: DecontaminateParams) -> Dataset:
    """Drop training rows that share a word n-gram with the evaluation inputs (validation/test files)."""
    ds = need(ds, "decontaminate")
    need_columns(ds, [p.column], "decontaminate")
    target = p.against_column or p.column
    protected = []
    for path in p.against:
        evaluation = load_local_dataset(None, LoadLocalParams(path=path))
        if target not in evaluation.column_names:
            raise OperatorError(f"decontaminate: column {target!r} not in {path} (columns: {evaluation.column_names})")
        protected.append(normalize(arrow_column(evaluation, target)))
    train = normalize(arrow_column(ds, p.column))
    (train_ids, train_offsets), *others = token_ids(train, *protected, unit=p.unit)
    train_keys, owners = ngram_keys(train_ids, train_offsets, p.ngram)
    eval_keys = np.unique(np.concatenate([ngram_keys(i, o, p.ngram)[0] for i, o in others]))
    hit = np.zeros(len(ds), dtype=bool)
    hit[owners[np.isin(train_keys, eval_keys)]] = True
    return ds.select(np.flatnonzero(~hit))
