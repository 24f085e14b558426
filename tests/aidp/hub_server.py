"""A local stand-in of the Hugging Face Hub that serves dataset repositories from a folder.

``hub_server(root)`` serves ``root/<owner>/<name>/<files>`` as Hub datasets: the search API (``HfApi.list_datasets``),
the dataset info and tree APIs and ``resolve`` downloads that ``datasets.load_dataset("owner/name")`` asks for, and
the HEAD probe of ``trex.assets.net.url_reachable``. Point ``HF_ENDPOINT`` at the URL it yields (huggingface_hub
reads it when it is imported: set it before a subprocess starts). Every request is recorded.
"""

from __future__ import annotations

import hashlib
import json
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from tests.http_standin import serving

COMMIT = "0" * 39 + "1"


def _sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


@contextmanager
def hub_server(root: Path) -> Iterator[tuple[str, list[str]]]:
    """Yield (endpoint URL, requested paths)."""
    seen: list[str] = []

    def files(repo: str) -> list[str]:
        base = root / repo
        return sorted(p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file())

    class Handler(BaseHTTPRequestHandler):
        def _send(self, code: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            for key, value in {"Content-Type": "application/json", **(headers or {})}.items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, value: object) -> None:
            self._send(200, json.dumps(value).encode())

        def _answer(self) -> None:
            seen.append(f"{self.command} {self.path}")
            url = urllib.parse.urlparse(self.path)
            parts = url.path.strip("/").split("/")
            if parts == ["api", "datasets"]:  # the search
                query = urllib.parse.parse_qs(url.query).get("search", [""])[0].lower()
                repos = [f"{o.name}/{d.name}" for o in sorted(root.iterdir()) for d in sorted(o.iterdir())]
                words = query.split()
                hits = [r for r in repos if any(w in r.lower() for w in words)]
                return self._json([{"id": r, "downloads": 100, "likes": 1, "tags": []} for r in hits])
            if parts[:2] == ["api", "datasets"] and len(parts) >= 4:
                repo, rest = "/".join(parts[2:4]), parts[4:]
                if not (root / repo).is_dir():
                    return self._send(404)
                names = files(repo)
                if not rest or rest[0] == "revision":
                    return self._json({"id": repo, "sha": COMMIT, "siblings": [{"rfilename": f} for f in names]})
                if rest[0] == "tree":
                    items = [
                        {
                            "type": "file",
                            "path": f,
                            "size": (root / repo / f).stat().st_size,
                            "oid": _sha1(root / repo / f),
                        }
                        for f in names
                    ]
                    folders = sorted({"/".join(f.split("/")[:i]) for f in names for i in range(1, f.count("/") + 1)})
                    return self._json(items + [{"type": "directory", "path": d, "oid": "0" * 40} for d in folders])
                return self._json([])
            if parts[0] == "datasets" and "resolve" in parts:
                at = parts.index("resolve")
                path = root / "/".join(parts[1:at]) / "/".join(parts[at + 2 :])
                if not path.is_file():
                    return self._send(404, headers={"X-Error-Code": "EntryNotFound"})
                data = path.read_bytes()
                etag = '"' + hashlib.sha1(data).hexdigest() + '"'
                return self._send(200, data, {"Content-Type": "application/octet-stream", "ETag": etag,
                                              "X-Repo-Commit": COMMIT})  # fmt: skip
            return self._send(404)

        do_GET = do_HEAD = do_POST = _answer  # noqa: N815 (http.server's names)

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as url:
        yield url, seen
