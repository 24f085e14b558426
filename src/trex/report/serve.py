"""``trex serve``: the report of a workspace over HTTP, live while the run goes on, read-only.

Every request opens the store read-only (SQLite ``mode=ro``: the viewer never writes and never
takes the run's write lock) and renders the report afresh. ``/`` and ``/report.html`` are the
report with a small script that polls ``/status.json`` every two seconds and reloads the page
when the store has moved on (``version`` is the newest event's id). One write: ``POST /steer`` (the form at the
page's foot) takes a steering action (``trex.run.steering``) when its ``token`` is the one ``trex serve`` printed
at start (a fresh random one each start, compared in constant time); anything else is refused (403 without the
token, 405 for other methods). It binds 127.0.0.1 by default: the report shows data and paths, so exposing it is
a choice.
A request whose ``Host:`` header names another host than the server's own address gets 421: a web
page that rebinds its DNS name to 127.0.0.1 cannot read the report (DNS rebinding).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import secrets
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

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


STEER_FORM = """<h2>Steer the run</h2><form method="post" action="/steer">
<select name="action"><option>pin</option><option>prune</option><option>note</option><option>hypothesis</option>
</select> node <input name="node" size="4"> text <input name="text" size="40">
token <input name="token" type="password" size="24"> <button>send</button></form>
<p class="note">The token is the one <code>trex serve</code> printed at start.</p>"""


def _steer(workspace: Path, token: str, body: bytes) -> tuple[int, str]:
    """One steering action from a form body: (HTTP status, message)."""
    from trex.run.steering import SteerError, steer

    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
    if not hmac.compare_digest(form.get("token", "").encode(), token.encode()):
        return 403, "wrong or missing token (trex serve printed it at start)"
    node = form.get("node", "").strip()
    if node and not node.isdigit():
        return 400, f"node {node!r}: a node id is a number"
    store = Store.open_existing(workspace)  # a short write of one event; the run's lock is not taken
    try:
        steer(store, form.get("action", ""), int(node) if node else None, form.get("text", ""))
    except SteerError as exc:
        return 400, str(exc)
    finally:
        store.close()
    return 303, "written"


def make_server(
    workspace: Path, port: int = 8765, host: str = "127.0.0.1", token: str | None = None
) -> ThreadingHTTPServer:
    """The server; ``server.steer_token`` is the token a steering POST must carry (``token``, or a random one)."""
    token = token or secrets.token_urlsafe(18)
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
                    page = render_report(store, live=True).replace("</body>", STEER_FORM + "</body>", 1)
                    self._send(200, page.encode(), "text/html; charset=utf-8")
            finally:
                store.close()

        def do_POST(self) -> None:  # noqa: N802
            if (self.headers.get("Host") or "").lower() not in allowed:
                self._send(421, b"unknown Host header: this server answers only its own address", "text/plain")
                return
            if self.path.split("?", 1)[0] != "/steer":
                self._send(405, b"the only write is POST /steer", "text/plain")
                return
            length = min(int(self.headers.get("Content-Length") or 0), 64 * 1024)
            code, message = _steer(workspace, token, self.rfile.read(length))
            if code == 303:
                self.send_response(303)
                self.send_header("Location", "/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self._send(code, message.encode(), "text/plain; charset=utf-8")

        def do_PUT(self) -> None:  # noqa: N802
            self._send(405, b"the only write is POST /steer", "text/plain")

        do_DELETE = do_PUT  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    allowed |= allowed_hosts(host, server.server_port)  # the real port when 0 asked for a free one
    server.steer_token = token  # type: ignore[attr-defined]
    return server
