"""The LLM researcher's client from a run's options, and the endpoint it offers the LLM data operators.

A local model (``embedded:…`` or a ``.gguf`` with no base URL) runs in this process and is offered to no
operator. A served model is offered under the name ``researcher`` (``trex.llm.endpoints``): plans say
``llm: researcher``, and the job processes resolve the name from the environment this run registers, so
neither the URL's userinfo nor the key is ever written into a plan or a job.
"""

from __future__ import annotations

from typing import Any

from trex.llm.client import LLMClient, OpenAIClient
from trex.llm.endpoints import RESEARCHER, Endpoint, register
from trex.llm.local import LocalLlamaClient, is_local_model


def client_from_options(options: Any) -> tuple[LLMClient, str | None]:
    """(the researcher's client, the name of the endpoint the LLM operators may use, or None)."""
    if options.llm_base_url is None and is_local_model(options.llm_model):
        return LocalLlamaClient(options.llm_model), None  # offline: llama.cpp in this process
    client = OpenAIClient(options.llm_model, options.llm_base_url, options.llm_api_key_env)
    register(RESEARCHER, Endpoint(options.llm_model, options.llm_base_url, options.llm_api_key_env))
    return client, RESEARCHER
