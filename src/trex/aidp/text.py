"""Column-at-a-time text kernels for AIDP (Arrow and NumPy, no Python loop per row).

- ``normalize``: lowercase, trimmed, inner whitespace collapsed to one space. The regex runs
  only on the rows that need it (found with one vectorized match), which makes it several times
  faster than a regex over every row.
- ``first_occurrences``: the index of the first row of each distinct value (Arrow's hash group-by).
- ``token_ids``: every row split into words (or characters, for Chinese/Japanese text) and each
  token mapped to an integer id shared by all the columns given, with per-row offsets.
- ``ngram_keys``: 64-bit keys of each row's token n-grams (rows shorter than n give one key of all
  their tokens), with the row each key belongs to.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

Unit = Literal["word", "char"]
_MIX = np.uint64(0x9E3779B97F4A7C15)  # the golden-ratio constant of splitmix64


def _array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def normalize(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    text = pc.utf8_lower(_array(column))
    # only rows with leading, trailing, repeated or non-space whitespace need the (slower) regex
    needs = pc.fill_null(pc.match_substring_regex(text, r"^\s|\s$|\s\s|[\t\n\r\f\v]"), False)
    if not pc.any(needs).as_py():
        return text
    fixed = pc.utf8_trim_whitespace(pc.replace_substring_regex(pc.filter(text, needs), r"\s+", " "))
    return pc.replace_with_mask(text, needs, fixed)


def first_occurrences(keys: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Sorted indices of the first row holding each distinct key (nulls count as one key)."""
    codes = pc.dictionary_encode(_array(keys), null_encoding="encode").indices
    _, first = np.unique(codes.to_numpy(zero_copy_only=False), return_index=True)
    return np.sort(first)


def _split(text: pa.Array, unit: Unit) -> pa.ListArray:
    if unit == "char":  # every non-space character becomes a word of its own
        text = pc.replace_substring_regex(pc.replace_substring_regex(text, r"\s+", ""), r"(.)", r"\1 ")
    return pc.utf8_split_whitespace(text)


def token_ids(*columns: pa.Array, unit: Unit = "word") -> list[tuple[np.ndarray, np.ndarray]]:
    """For each column: (token ids, row offsets); equal tokens get equal ids across all the columns."""
    tokens, offsets = [], []
    for column in columns:
        lists = _split(pc.fill_null(_array(column).cast(pa.large_string()), ""), unit)
        flat = lists.flatten()
        keep = pc.greater(pc.utf8_length(flat), 0)  # splitting '' or a trailing space gives empty tokens
        kept = np.concatenate([[0], np.cumsum(keep.to_numpy(zero_copy_only=False), dtype=np.int64)])
        starts = lists.offsets.to_numpy().astype(np.int64) - int(lists.offsets[0].as_py())
        tokens.append(pc.filter(flat, keep).cast(pa.large_string()))
        offsets.append(kept[starts])
    codes = pc.dictionary_encode(pa.chunked_array(tokens, type=pa.large_string())).chunks
    return [
        (encoded.indices.to_numpy(zero_copy_only=False).astype(np.uint64), offs)
        for encoded, offs in zip(codes, offsets, strict=True)
    ]


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: spreads ids over 64 bits (wrapping arithmetic is intended)."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def ngram_keys(ids: np.ndarray, offsets: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(keys, row of each key): one key per token n-gram inside a row; a shorter row gives one key."""
    rows = len(offsets) - 1
    lengths = np.diff(offsets)
    row_of = np.repeat(np.arange(rows), lengths)
    mixed = mix64(ids + np.uint64(1))
    keys_parts, rows_parts = [], []
    if len(ids) >= n:
        count = len(ids) - n + 1
        key = np.zeros(count, dtype=np.uint64)
        with np.errstate(over="ignore"):
            for j in range(n):
                key = mix64(key * _MIX + mixed[j : j + count])
        valid = row_of[:count] == row_of[n - 1 : n - 1 + count]
        keys_parts.append(key[valid])
        rows_parts.append(row_of[:count][valid])
    short = np.flatnonzero((lengths < n) & (lengths > 0))
    if len(short):  # a row with fewer than n tokens: one key of all its tokens (rare: a loop over them)
        short_keys = np.empty(len(short), dtype=np.uint64)
        with np.errstate(over="ignore"):
            for k, r in enumerate(short):
                key = np.uint64(0)
                for value in mixed[offsets[r] : offsets[r + 1]]:
                    key = mix64(np.array([key * _MIX + value], dtype=np.uint64))[0]
                short_keys[k] = key
        keys_parts.append(short_keys)
        rows_parts.append(short)
    if not keys_parts:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    keys, owners = np.concatenate(keys_parts), np.concatenate(rows_parts)
    order = np.argsort(owners, kind="stable")
    return keys[order], owners[order]
