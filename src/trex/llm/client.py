"""LLM clients: one protocol, an OpenAI-compatible HTTP client, a scripted client for tests.

``OpenAIClient`` talks to any OpenAI-compatible ``base_url`` (hosted APIs, vLLM, SGLang, Ollama,
llama.cpp servers, compatibility endpoints) through the openai SDK, which retries rate limits and
timeouts with backoff. The API key is read from the environment variable named in the config and
is never stored, logged or reported. ``trex.llm.structured`` turns replies into pydantic objects.
Every reply carries its token counts; ``LLMUsage`` prices them (``trex.llm.pricing`` decides the price).

Guarantee: every failure of ``complete`` is an ``LLMError`` whose ``kind`` says what went wrong
(``KINDS``: an HTTP status class, a timeout, a refused connection, an answer with no usable text, a
refusal), so a caller can act on it: shrink a prompt that overflowed the context, fall back, or stop
at the start (``check_endpoint``). Structured output (``response_format``) is switched off only when
the server says it does not support it; any other 400 is an error of that call alone. Not guaranteed:
that the text of an answer is valid JSON (``trex.llm.structured`` checks and repairs that).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from pydantic import BaseModel

Message = dict[str, str]
T = TypeVar("T", bound=BaseModel)


KINDS = (
    "context_length",  # a 400: the prompt does not fit the model's context
    "bad_request",  # any other 400 (or 422)
    "auth",  # 401, 403
    "not_found",  # 404: a wrong base URL or model name
    "rate_limit",  # 429, after the SDK's retries
    "server",  # 5xx or another status, after the SDK's retries
    "timeout",
    "connection",  # refused, unresolvable, reset
    "bad_answer",  # empty, not JSON where JSON was asked, tool calls only, an unreadable response
    "refusal",  # the model refused (``refusal`` set, or a content filter)
)
CONTEXT_LENGTH = re.compile(
    r"context_length_exceeded|context length|context window|context size|too many tokens|prompt is too long"
    r"|maximum (?:context|input) length",
    re.IGNORECASE,
)
NO_STRUCTURED_OUTPUT = re.compile(r"response_format|json_schema|structured output|grammar", re.IGNORECASE)


class LLMError(RuntimeError):
    """The LLM could not be reached or did not give a valid answer; ``kind`` is one of ``KINDS``."""

    def __init__(self, message: str, kind: str = "bad_answer") -> None:
        super().__init__(message)
        self.kind = kind


class LLMUnreachable(LLMError):
    """The start check failed: the endpoint refused the connection, the key (401) or the URL or model (404)."""


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
        max_retries: int = 3,
    ) -> None:
        from openai import OpenAI

        self.model = model
        # Local servers need no key; the SDK insists on a non-empty string.
        key = os.environ.get(api_key_env) or "not-needed"
        self._client = OpenAI(base_url=base_url, api_key=key, timeout=timeout_s, max_retries=max_retries)
        self._json_schema_ok = True
        self.max_tokens = max_tokens  # None: the server's default

    def complete(self, messages: list[Message], schema: dict | None = None) -> LLMReply:
        kwargs: dict = {"model": self.model, "messages": messages, "temperature": 0}
        if self.max_tokens is not None:
            kwargs["max_tokens"] = self.max_tokens
        if schema is not None and self._json_schema_ok:
            kwargs["response_format"] = {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}
        try:
            response = self._create(kwargs)
        except LLMError as exc:
            if (
                "response_format" not in kwargs
                or exc.kind != "bad_request"
                or not NO_STRUCTURED_OUTPUT.search(str(exc))
            ):
                raise
            self._json_schema_ok = False  # the server said it has no structured output: JSON in text from now on
            del kwargs["response_format"]
            response = self._create(kwargs)
        return self._reply(response)

    def _create(self, kwargs: dict) -> object:
        """One request; every failure an LLMError with its kind (the SDK has retried what it retries)."""
        import httpx
        import openai

        try:
            return self._client.chat.completions.create(**kwargs)
        except openai.APIStatusError as exc:
            raise LLMError(
                f"LLM call to {self.model} failed: HTTP {exc.status_code}: {_detail(exc)}", _kind(exc)
            ) from exc
        except openai.APITimeoutError as exc:
            raise LLMError(f"LLM call to {self.model} timed out", "timeout") from exc
        except openai.APIConnectionError as exc:
            raise LLMError(f"LLM call to {self.model}: no connection ({_cause(exc)})", "connection") from exc
        except (openai.OpenAIError, httpx.HTTPError, ValueError) as exc:  # an unreadable response among them
            raise LLMError(f"LLM call to {self.model} failed: {type(exc).__name__}: {exc}"[:2000]) from exc

    def _reply(self, response: object) -> LLMReply:
        choices = getattr(response, "choices", None)
        if not choices:
            raise LLMError(f"{self.model} answered with no choices (not an OpenAI chat completion?)")
        message, finish = choices[0].message, choices[0].finish_reason
        if getattr(message, "refusal", None) or finish == "content_filter":
            raise LLMError(f"{self.model} refused: {str(message.refusal or finish)[:500]}", "refusal")
        text = message.content or ""
        if not text.strip():
            what = "tool calls only" if message.tool_calls or message.function_call else "an empty answer"
            raise LLMError(f"{self.model} gave {what} (finish_reason {finish})")
        usage = getattr(response, "usage", None)
        return LLMReply(
            text=text,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
        )


def _detail(exc: object) -> str:
    """The server's own words: the error body's message, or the SDK's text."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else inner
        code = inner.get("code") if isinstance(inner, dict) else None
        text = f"{message} ({code})" if code and str(code) not in str(message) else str(message)
        return text[:1000]
    return str(exc)[:1000]


def _kind(exc: object) -> str:
    status = getattr(exc, "status_code", 0)
    if status in (400, 413, 422):
        return "context_length" if CONTEXT_LENGTH.search(_detail(exc)) else "bad_request"
    return {401: "auth", 403: "auth", 404: "not_found", 429: "rate_limit"}.get(status, "server")


def _cause(exc: BaseException) -> str:
    inner = exc.__cause__ or exc.__context__
    return f"{type(inner).__name__}: {inner}"[:300] if inner is not None else str(exc)[:300]


UNREACHABLE = ("connection", "auth", "not_found")


def check_endpoint(client: OpenAIClient) -> None:
    """One minimal request before a run starts: raise ``LLMUnreachable`` (with the cause) when the connection is
    refused or the server answers 401/403 or 404; any other answer, an error included, lets the run start."""
    kwargs = {"model": client.model, "messages": [{"role": "user", "content": "Reply with OK."}], "max_tokens": 1}
    try:
        client._create(kwargs)
    except LLMError as exc:
        if exc.kind in UNREACHABLE:
            raise LLMUnreachable(str(exc), exc.kind) from exc
