"""The live page steers: ``POST /steer`` with the token ``trex serve`` printed writes the action; without it, or
from a page of another host, nothing is written."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.report.test_views import _grow
from trex.report.serve import make_server
from trex.store import Store
from trex.store.steering import actions


def post(url: str, fields: dict[str, str], host: str | None = None) -> int:
    request = urllib.request.Request(url, data=urlencode(fields).encode(), method="POST")
    if host:
        request.add_header("Host", host)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            return None

    try:
        return urllib.request.build_opener(NoRedirect).open(request).status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_page_steers_with_the_token_only(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.set_meta("task_name", "live")
    root = _grow(store, None, 0.6)
    server = make_server(tmp_path, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        assert 'action="/steer"' in urllib.request.urlopen(f"{base}/").read().decode()
        note = {"action": "note", "node": str(root), "text": "try shorter prompts"}
        assert post(f"{base}/steer", {**note, "token": "guess"}) == 403
        assert post(f"{base}/steer", note) == 403
        assert post(f"{base}/steer", {**note, "token": server.steer_token}, host="evil.example") == 421
        assert actions(store) == []
        assert post(f"{base}/steer", {**note, "token": server.steer_token}) == 303
        assert post(f"{base}/steer", {"action": "pin", "node": "99", "token": server.steer_token}) == 400
        assert [(a["action"], a["node"], a["text"]) for a in actions(store)] == [("note", root, "try shorter prompts")]
        assert "try shorter prompts" in urllib.request.urlopen(f"{base}/").read().decode()  # the timeline
        with pytest.raises(urllib.error.HTTPError, match="405"):
            urllib.request.urlopen(urllib.request.Request(f"{base}/", data=b"x", method="POST"))
    finally:
        server.shutdown()
        server.server_close()
    again = make_server(tmp_path, port=0)
    again.server_close()
    assert again.steer_token != server.steer_token  # a fresh token each start
