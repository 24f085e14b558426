"""Fetch an FT-Bench task's source rows (Hugging Face Hub or files in a GitHub repository).

``fetch_split`` returns a trex split's rows as the source has them (the preparer maps them).
Hub datasets go through ``datasets.load_dataset`` with the revision and the split expression;
GitHub files are read from raw.githubusercontent.com at the pinned revision with the ``json`` or
``csv`` builder. ``reachable`` answers within ``timeout_s`` whether the source's host answers,
and says no at once when ``HF_HUB_OFFLINE``/``HF_DATASETS_OFFLINE`` is set: listing tasks never
hangs on a machine without network.
"""

from __future__ import annotations

import os
from typing import Any

from trex.assets.net import hub_dataset_url, offline, url_reachable
from trex.bench.spec import Source, SplitName, SplitSource

RAW_GITHUB = "https://raw.githubusercontent.com"


class SourceError(RuntimeError):
    """A source could not be read; the message names the dataset, split and the cause."""


def probe_url(source: Source) -> str:
    """The URL whose answer tells whether the source is reachable (``TREX_GITHUB_API`` moves GitHub's API,
    for mirrors and tests; the hub follows ``HF_ENDPOINT``)."""
    if source.kind == "hub":
        return hub_dataset_url(source.id)
    return f"{os.environ.get('TREX_GITHUB_API', 'https://api.github.com').rstrip('/')}/repos/{source.id}"


def reachable(source: Source, timeout_s: float = 3.0) -> bool:
    return url_reachable(probe_url(source), timeout_s)


def _builder(path: str) -> str:
    return "csv" if path.endswith((".csv", ".csv.gz")) else "json"


def fetch_split(source: Source, split: SplitName) -> list[dict[str, Any]]:
    from datasets import load_dataset

    spec: SplitSource = source.splits[split]
    dataset_id = spec.id or source.id
    if offline():
        raise SourceError(f"{dataset_id}: the hub is unreachable (offline mode is set); use --fixtures")
    try:
        rows: list[dict[str, Any]] = []
        if source.kind == "hub" and spec.configs:
            for config in spec.configs:
                ds = load_dataset(dataset_id, config, split=spec.split, revision=source.revision)
                rows.extend({**row, "group": config} for row in ds.to_list())
            return rows
        if source.kind == "hub" and not spec.files:
            ds = load_dataset(dataset_id, spec.config or source.config, split=spec.split, revision=source.revision)
            return ds.to_list()
        for group, path in (spec.files or {}).items():
            url = f"{RAW_GITHUB}/{dataset_id}/{source.revision}/{path}"
            kwargs = {"field": spec.field} if spec.field else {}
            ds = load_dataset(_builder(path), data_files=url, split=spec.split, **kwargs)
            rows.extend({**row, "group": group} for row in ds.to_list())
        return rows
    except SourceError:
        raise
    except Exception as exc:  # network, missing split, changed schema: one clear line
        raise SourceError(f"{dataset_id} ({split} = {spec.split!r}): {type(exc).__name__}: {exc}") from exc
