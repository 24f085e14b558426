"""A stand-in for the ``vllm`` executable: ``vllm serve MODEL --host H --port P ...`` served over real HTTP.

It speaks the two routes trex uses (``GET /v1/models``, ``POST /v1/completions``), answers every prompt
with ``$STANDIN_ANSWER``, and appends each request body as a JSON line to ``$STANDIN_LOG``. With
``$STANDIN_FAIL`` set it prints that text and exits 3, as a vLLM that cannot start does.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> None:
    if os.environ.get("STANDIN_FAIL"):
        print(os.environ["STANDIN_FAIL"], flush=True)
        sys.exit(3)
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("model")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--served-model-name", default="model")
    parser.add_argument("--seed", type=int, default=0)
    args, _ = parser.parse_known_args()
    answer, log = os.environ.get("STANDIN_ANSWER", ""), os.environ["STANDIN_LOG"]

    class Handler(BaseHTTPRequestHandler):
        def _send(self, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            self._send({"object": "list", "data": [{"id": args.served_model_name, "object": "model"}]})

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(json.dumps({**body, "served_from": args.model}) + "\n")
            prompts = body["prompt"] if isinstance(body["prompt"], list) else [body["prompt"]]
            choices = [{"index": i, "text": answer, "finish_reason": "stop"} for i in range(len(prompts))]
            self._send(
                {"id": "c", "object": "text_completion", "created": 0, "model": body["model"], "choices": choices}
            )

        def log_message(self, *args: object) -> None:
            return None

    print(f"serving {args.model} on {args.host}:{args.port}", flush=True)
    ThreadingHTTPServer((args.host, args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
