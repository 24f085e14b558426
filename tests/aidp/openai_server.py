"""A local HTTP server that speaks the OpenAI chat-completions protocol, answering with a Python function.

Tests give it ``respond(messages) -> str``; it records every request body, so a test can check what
was sent and count calls (e.g. that a cached rerun sends none).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler

from tests.http_standin import serving


@contextmanager
def openai_server(
    respond: Callable[[list[dict]], str], usage: tuple[int, int] = (10, 5)
) -> Iterator[tuple[str, list[dict]]]:
    """Yield (base_url, requests); every reply reports ``usage`` (prompt, completion) tokens."""
    requests: list[dict] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with lock:
                requests.append(body)
            text = respond(body["messages"])
            payload = json.dumps(
                {
                    "id": "x",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                    ],
                    "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)},
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        yield f"{url}/v1", requests
