"""Structured answers: ask an ``LLMClient`` for JSON matching a pydantic model, repair until valid.

``structured`` sends the model's JSON schema (as ``response_format`` when the server accepts it),
and sends an invalid answer back with the validation error, up to ``attempts`` times, before it
gives up with ``LLMError``. Every reply's tokens are charged to the ``LLMUsage`` passed in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from trex.llm.client import LLMClient, LLMError, LLMUsage, Message

T = TypeVar("T", bound=BaseModel)


def extract_json(text: str) -> str:
    """The JSON object in a reply: the whole text, a fenced block, or the outermost braces."""
    fenced = re.search(r"```(?:json)?\s*(\{.*\})\s*```", text, re.DOTALL)
    if fenced:
        return fenced.group(1)
    start, end = text.find("{"), text.rfind("}")
    return text[start : end + 1] if start != -1 and end > start else text


def structured(
    client: LLMClient,
    messages: list[Message],
    model_cls: type[T],
    usage: LLMUsage | None = None,
    attempts: int = 3,
    check: Callable[[T], None] | None = None,
) -> T:
    """Ask for a ``model_cls`` as JSON; send validation errors back until it is valid or attempts run out.

    ``check`` may raise ValueError for semantic problems beyond the schema (e.g. an unknown operator).
    """
    schema = model_cls.model_json_schema()
    history = list(messages)
    last_error = ""
    for _ in range(attempts):
        reply = client.complete(history, schema)
        if usage is not None:
            usage.charge(client.model, reply)
        try:
            value = model_cls.model_validate(json.loads(extract_json(reply.text)))
            if check is not None:
                check(value)
            return value
        except (json.JSONDecodeError, ValidationError, ValueError) as exc:
            last_error = str(exc)[:2000]
            history += [
                {"role": "assistant", "content": reply.text},
                {"role": "user", "content": f"That answer is invalid: {last_error}\nReply with corrected JSON only."},
            ]
    raise LLMError(f"no valid {model_cls.__name__} after {attempts} attempts: {last_error}")
