"""The cache of LLM-backed AIDP operators: a rerun with the same prompt, model and parameters costs nothing.

Replies are stored in SQLite (``$TREX_CACHE/aidp_llm_cache.sqlite`` by default) under the sha256
of the canonical JSON of (model, base URL, messages, parameters). Only successful replies are
stored. ``LLMSettings`` is the part of an operator's parameters that says which LLM to call; the
API key is read from the environment variable it names and is never stored. An operator's ``llm``
may instead name an endpoint (``llm: researcher``, ``LLMRef``): it is resolved where the operator runs
(``trex.llm.endpoints``), so a plan or a job holds the name, never a URL with credentials. The cache key
holds the URL without its userinfo.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from trex.llm.client import LLMClient, LLMReply, Message
from trex.llm.endpoints import resolve, split_userinfo

T = TypeVar("T")
R = TypeVar("R")


class LLMSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(description="model name at the OpenAI-compatible endpoint")
    base_url: str | None = Field(default=None, description="OpenAI-compatible base URL (vLLM, Ollama, a hosted API)")
    api_key_env: str = Field(default="OPENAI_API_KEY", description="environment variable holding the API key")


LLMRef = LLMSettings | str  # an operator's ``llm``: the settings, or the name of an endpoint the run registered
LLM_DOC = "the LLM to call: {model, base_url, api_key_env}, or the name of an endpoint the run offers (researcher)"


def llm_name(llm: LLMRef) -> str:
    """How an operator's message names its LLM (never with the URL)."""
    return llm if isinstance(llm, str) else llm.model


def settings_of(llm: LLMRef) -> LLMSettings:
    """The settings to call: as given, or the named endpoint's, resolved in this process."""
    if isinstance(llm, LLMSettings):
        return llm
    endpoint = resolve(llm)
    return LLMSettings(model=endpoint.model, base_url=endpoint.base_url, api_key_env=endpoint.api_key_env)


def default_cache_path() -> Path:
    from trex.assets import cache_dir

    return cache_dir() / "aidp_llm_cache.sqlite"


class CachedLLM:
    """An LLMClient in front of a persistent reply cache; counts hits and calls."""

    def __init__(self, client: LLMClient, settings: LLMSettings, path: Path | None = None) -> None:
        self.client = client
        self.model = client.model
        self.settings = settings
        self.path = path or default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, text TEXT NOT NULL)")
        self._lock = threading.Lock()
        self.hits = 0
        self.calls = 0

    def key(self, messages: list[Message], params: dict[str, Any]) -> str:
        url = split_userinfo(self.settings.base_url)[0]
        blob = {"model": self.settings.model, "base_url": url, "messages": messages, **params}
        return hashlib.sha256(json.dumps(blob, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    def complete(self, messages: list[Message], schema: dict | None = None, **params: Any) -> LLMReply:
        key = self.key(messages, {**params, "schema": schema})
        with self._lock:
            row = self._conn.execute("SELECT text FROM replies WHERE key = ?", (key,)).fetchone()
        if row is not None:
            self.hits += 1
            return LLMReply(text=row[0])
        reply = self.client.complete(messages, schema)
        self.calls += 1
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO replies(key, text) VALUES (?, ?)", (key, reply.text))
        return reply

    def close(self) -> None:
        self._conn.close()


def make_client(llm: LLMRef) -> CachedLLM:
    from trex.llm.client import OpenAIClient

    settings = settings_of(llm)
    return CachedLLM(OpenAIClient(settings.model, settings.base_url, settings.api_key_env), settings)


def map_with_llm(settings: LLMRef, workers: int, fn: Callable[[CachedLLM, T], R], items: list[T]) -> list[R]:
    """``fn(client, item)`` for every item, ``workers`` at a time, through one cached client (closed after)."""
    client = make_client(settings)
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(lambda item: fn(client, item), items))
    finally:
        client.close()
