"""``trex serve``: the report of a workspace over HTTP, live while the run goes on, read-only.

Every request opens the store read-only (SQLite ``mode=ro``: the viewer never writes and never
takes the run's write lock) and renders the report afresh. ``/`` and ``/report.html`` are the
report with a small script that polls ``/status.json`` every two seconds and reloads the page
when the store has moved on (``version`` is the newest event's id). Anything but GET is refused.
It binds 127.0.0.1 by default: the report shows data and paths, so exposing it is a choice.
A request whose ``Host:`` header names another host than the server's own address gets 421: a web
page that rebinds its DNS name to 127.0.0.1 cannot read the report (DNS rebinding).
"""

from __future__ import annotations

import contextlib
import json
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from trex.report.html import render_report
from trex.report.status import run_status
from trex.store import Store

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def allowed_hosts(host: str, port: int) -> set[str]:
    """``Host:`` values the server answers: its own address (and loopback names when it binds loopback)."""
    names = {host, f"[{host}]"} | (LOOPBACK if host in LOOPBACK else set())
    if host in ("0.0.0.0", "::", ""):  # bound everywhere: the machine's own names and addresses
        names |= LOOPBACK | {socket.gethostname(), socket.getfqdn()}
        with contextlib.suppress(OSError):
            names |= {a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None)}
    return {n.lower() for n in names} | {f"{n.lower()}:{port}" for n in names}


def make_server(workspace: Path, port: int = 8765, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    if not 0 <= port <= 65535:
        raise ValueError(f"--port {port}: a port is a number from 0 to 65535")
    Store.open_existing(workspace, read_only=True).close()  # fail now, with the usual message, if no run is here
    allowed: set[str] = set()

    class Handler(BaseHTTPRequestHandler):
        def _send(self, code: int, body: bytes, kind: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if (self.headers.get("Host") or "").lower() not in allowed:
                self._send(421, b"unknown Host header: this server answers only its own address", "text/plain")
                return
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

    server = ThreadingHTTPServer((host, port), Handler)
    allowed |= allowed_hosts(host, server.server_port)  # the real port when 0 asked for a free one
    return server
