"""One local HTTP server for the tests' stand-ins (the Hub, an OpenAI-compatible endpoint, arXiv, failing LLMs).

``serving(Handler)`` serves a ``BaseHTTPRequestHandler`` class on 127.0.0.1 and a free port, in a daemon thread,
and yields its base URL (``http://127.0.0.1:PORT``); on exit it stops serving and closes the socket, so a test
that fails midway leaves no server behind. Handlers stay in their tests: they are what differs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True  # a client that timed out and left must not hold the shutdown
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
