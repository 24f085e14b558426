"""Generation through vLLM: a vLLM OpenAI-compatible server started for one job's evaluation.

vLLM pins its own torch, transformers and numpy (vLLM 0.32.0: transformers 5.19.0, numpy 2.3.5),
which cannot share an environment with trex's pins, so trex never imports it. The user installs
vLLM in its own environment, and trex runs its executable: ``$TREX_VLLM`` (a path), else ``vllm`` on
the PATH. ``VLLMServer`` starts ``vllm serve MODEL_DIR`` on 127.0.0.1 and a free port, waits until
``/v1/models`` answers (or the process dies, or ``start_timeout_s`` passes: an error with the tail
of its log), and stops it on exit (SIGTERM, then SIGKILL). ``generate`` sends the rendered prompts
to ``/v1/completions`` in batches, greedy (temperature 0), ``max_tokens`` as the task says; the
answers are extracted exactly as in the transformers path (``extract_answers``).

Used by the worker for ``mode: generate`` when the run asks for ``--eval-backend vllm``; the
trained model is saved merged first (vLLM reads a folder). ``mode: choices`` always scores with
transformers: one forward pass per batch is already the fast path. Prompts are sent as text, so
vLLM's tokenizer may add a BOS token where the transformers path does not; scores of the two
backends can differ by that and by numerics, which is why the backend is recorded in the job log.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

SERVED_NAME = "trex-eval"
VLLM_ENV = "TREX_VLLM"


class VLLMError(RuntimeError):
    """vLLM is not installed, did not start, or failed to answer."""


def vllm_executable() -> str:
    configured = os.environ.get(VLLM_ENV)
    if configured:
        if not Path(configured).is_file():
            raise VLLMError(f"${VLLM_ENV}={configured}: no such file")
        return configured
    found = shutil.which("vllm")
    if found is None:
        raise VLLMError(
            f"--eval-backend vllm needs the vllm executable: install vLLM in its own environment "
            f"(pip install vllm) and set ${VLLM_ENV} to its bin/vllm"
        )
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class VLLMServer:
    """``vllm serve MODEL_DIR`` for the duration of a ``with`` block."""

    def __init__(
        self,
        model_dir: Path,
        log_path: Path,
        seed: int = 0,
        max_model_len: int | None = None,
        start_timeout_s: float = 900.0,
        extra_args: list[str] | None = None,
    ) -> None:
        self.model_dir = model_dir
        self.log_path = log_path
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.command = [vllm_executable(), "serve", str(model_dir), "--host", "127.0.0.1", "--port", str(self.port)]
        self.command += ["--served-model-name", SERVED_NAME, "--seed", str(seed)]
        if max_model_len is not None:
            self.command += ["--max-model-len", str(max_model_len)]
        self.command += extra_args or []
        self.start_timeout_s = start_timeout_s
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> VLLMServer:
        from openai import OpenAI

        log = self.log_path.open("ab")
        self._process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.client = OpenAI(base_url=self.base_url, api_key="not-needed", timeout=600.0, max_retries=2)
        deadline = time.monotonic() + self.start_timeout_s
        while True:
            if self._process.poll() is not None:
                raise VLLMError(f"vllm exited with {self._process.returncode} while starting: {self._tail()}")
            try:
                self.client.models.list()
                return self
            except Exception:  # noqa: BLE001 - not up yet
                if time.monotonic() > deadline:
                    self.stop()
                    raise VLLMError(f"vllm did not answer within {self.start_timeout_s:g} s: {self._tail()}") from None
                time.sleep(1.0)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def _tail(self, lines: int = 5) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").strip().splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def generate(self, prompts: list[str], max_tokens: int, batch_size: int = 256) -> list[str]:
        """Greedy completions of ``prompts``, in order."""
        texts: list[str] = []
        for start in range(0, len(prompts), batch_size):
            batch = prompts[start : start + batch_size]
            response = self.client.completions.create(
                model=SERVED_NAME, prompt=batch, max_tokens=max_tokens, temperature=0.0
            )
            answers = sorted(response.choices, key=lambda c: c.index)
            if len(answers) != len(batch):
                raise VLLMError(f"vllm answered {len(answers)} completions for {len(batch)} prompts")
            texts.extend(c.text for c in answers)
        return texts
