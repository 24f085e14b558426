"""LLM clients: one protocol, an OpenAI-compatible HTTP client, a scripted client for tests.

``OpenAIClient`` talks to any OpenAI-compatible ``base_url`` (hosted APIs, vLLM, SGLang, Ollama,
llama.cpp servers, compatibility endpoints) through the openai SDK, which retries rate limits and
timeouts with backoff. The API key is read from the environment variable named in the config and
is never stored, logged or reported. ``trex.llm.structured`` turns replies into pydantic objects.
Every reply carries its token counts; ``LLMUsage`` prices them (``trex.llm.pricing`` decides the price).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from pydantic import BaseModel

Message = dict[str, str]
T = TypeVar("T", bound=BaseModel)


class LLMError(RuntimeError):
    """The LLM could not be reached or did not give a valid answer."""


@dataclass
class LLMReply:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


class LLMClient(Protocol):
    model: str

    def complete(self, messages: list[Message], schema: dict | None = None) -> LLMReply: ...


@dataclass
class LLMUsage:
    # USD per million (prompt, completion) tokens by model; trex.llm.pricing decides them
    prices: dict[str, tuple[float, float]] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usd: float = 0.0

    def charge(self, model: str, reply: LLMReply) -> None:
        self.prompt_tokens += reply.prompt_tokens
        self.completion_tokens += reply.completion_tokens
        per_prompt, per_completion = self.prices.get(model, (0.0, 0.0))
        self.usd += (reply.prompt_tokens * per_prompt + reply.completion_tokens * per_completion) / 1e6


class ScriptedClient:
    """Replies with the given texts in order; records the messages it was sent (for tests)."""

    def __init__(self, replies: list[str], model: str = "scripted") -> None:
        self.replies = list(replies)
        self.model = model
        self.sent: list[list[Message]] = []

    def complete(self, messages: list[Message], schema: dict | None = None) -> LLMReply:
        self.sent.append([dict(m) for m in messages])
        if not self.replies:
            raise LLMError("scripted client has no reply left")
        text = self.replies.pop(0)
        return LLMReply(
            text=text, prompt_tokens=sum(len(m["content"]) // 4 for m in messages), completion_tokens=len(text) // 4
        )


class OpenAIClient:
    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        timeout_s: float = 120.0,
        max_tokens: int | None = None,
    ) -> None:
        from openai import OpenAI

        self.model = model
        # Local servers need no key; the SDK insists on a non-empty string.
        key = os.environ.get(api_key_env) or "not-needed"
        self._client = OpenAI(base_url=base_url, api_key=key, timeout=timeout_s, max_retries=3)
        self._json_schema_ok = True
        self.max_tokens = max_tokens  # None: the server's default

    def complete(self, messages: list[Message], schema: dict | None = None) -> LLMReply:
        import openai

        kwargs: dict = {"model": self.model, "messages": messages, "temperature": 0}
        if self.max_tokens is not None:
            kwargs["max_tokens"] = self.max_tokens
        if schema is not None and self._json_schema_ok:
            kwargs["response_format"] = {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}
        try:
            response = self._client.chat.completions.create(**kwargs)
        except openai.BadRequestError:
            if "response_format" not in kwargs:
                raise
            self._json_schema_ok = False  # the server has no structured output: JSON in text instead
            del kwargs["response_format"]
            response = self._client.chat.completions.create(**kwargs)
        except openai.OpenAIError as exc:
            raise LLMError(f"LLM call to {self.model} failed: {type(exc).__name__}: {exc}") from exc
        usage = response.usage
        return LLMReply(
            text=response.choices[0].message.content or "",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
        )
