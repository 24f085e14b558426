"""A stand-in OpenAI-compatible server that fails the way real ones do, one chosen failure per request.

Tests give it ``respond(body) -> Answer``; ``FAILURES`` names every failure it can give (HTTP 400 context
length, 400 without structured output, another 400, 401, 404, 429, 500, a slow answer, empty content, a
body that is not JSON, a tool-call-only answer, a refusal) and ``Answer.text`` is an ordinary reply. It
records every request body. Local, threaded, on 127.0.0.1 and a free port; ``refused_url`` is a URL
nothing listens on.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from tests.http_standin import serving


@dataclass
class Answer:
    status: int = 200
    text: str | None = "OK"  # the message content
    error: dict | None = None  # the error body of a non-200 answer
    raw: bytes | None = None  # a body sent as is (not JSON)
    delay_s: float = 0.0
    tool_calls: bool = False
    refusal: str | None = None


def _error(message: str, code: str | None = None, kind: str = "invalid_request_error") -> dict:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


FAILURES: dict[str, Answer] = {
    "context_length": Answer(
        400,
        error=_error(
            "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
            "context_length_exceeded",
        ),
    ),
    "no_structured_output": Answer(400, error=_error("response_format json_schema is not supported by this server")),
    "bad_request": Answer(400, error=_error("temperature must be at most 2")),
    "auth": Answer(401, error=_error("Incorrect API key provided", "invalid_api_key", "authentication_error")),
    "not_found": Answer(404, error=_error("The model `nope` does not exist", "model_not_found")),
    "rate_limit": Answer(429, error=_error("Rate limit reached", "rate_limit_exceeded", "rate_limit_error")),
    "server": Answer(500, error=_error("internal error", None, "server_error")),
    "slow": Answer(delay_s=3.0),
    "empty": Answer(text=""),
    "not_json": Answer(raw=b"<html>Bad gateway</html>"),
    "tool_calls": Answer(text=None, tool_calls=True),
    "refusal": Answer(text=None, refusal="I can't help with that."),
}


def _completion(body: dict, answer: Answer) -> dict:
    message: dict = {"role": "assistant", "content": answer.text}
    if answer.refusal is not None:
        message["refusal"] = answer.refusal
    if answer.tool_calls:
        call = {"id": "c1", "type": "function", "function": {"name": "search", "arguments": "{}"}}
        message["tool_calls"] = [call]
    finish = "tool_calls" if answer.tool_calls else "stop"
    return {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "m"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


@contextmanager
def failing_server(respond: Callable[[dict], Answer]) -> Iterator[tuple[str, list[dict]]]:
    """Yield (base_url, requests); each request is answered by ``respond(body)``."""
    requests: list[dict] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            body["_authorization"] = self.headers.get("Authorization")  # what the client sent as its credential
            with lock:
                requests.append(body)
            answer = respond(body)
            time.sleep(answer.delay_s)
            if answer.raw is not None:
                payload, kind = answer.raw, "text/html"
            elif answer.status != 200:
                payload, kind = json.dumps(answer.error or {}).encode(), "application/json"
            else:
                payload, kind = json.dumps(_completion(body, answer)).encode(), "application/json"
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                pass

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        yield f"{url}/v1", requests


def refused_url() -> str:
    """A base URL on a port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
