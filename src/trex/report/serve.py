"""``trex serve``: the report of a workspace over HTTP, live while the run goes on, read-only.

Every request opens the store read-only (SQLite ``mode=ro``: the viewer never writes and never
takes the run's write lock) and renders the report afresh. ``/`` and ``/report.html`` are the
report with a small script that polls ``/status.json`` every two seconds and reloads the page
when the store has moved on (``version`` is the newest event's id). Anything but GET is refused.
It binds 127.0.0.1 by default: the report shows data and paths, so exposing it is a choice.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from trex.report.html import render_report
from trex.report.status import run_status
from trex.store import Store


def make_server(workspace: Path, port: int = 8765, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    Store.open_existing(workspace, read_only=True).close()  # fail now, with the usual message, if no run is here

    class Handler(BaseHTTPRequestHandler):
        def _send(self, code: int, body: bytes, kind: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            path = self.path.split("?", 1)[0]
            if path not in ("/", "/report.html", "/status.json"):
                self._send(404, b"not found", "text/plain")
                return
            store = Store.open_existing(workspace, read_only=True)
            try:
                if path == "/status.json":
                    status = run_status(store)
                    body = {"version": store.last_event_id(), "nodes": len(status["nodes"]), "best": status["best"]}
                    self._send(200, json.dumps(body).encode(), "application/json")
                else:
                    self._send(200, render_report(store, live=True).encode(), "text/html; charset=utf-8")
            finally:
                store.close()

        def do_POST(self) -> None:  # noqa: N802
            self._send(405, b"read-only", "text/plain")

        do_PUT = do_DELETE = do_POST  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    return ThreadingHTTPServer((host, port), Handler)
