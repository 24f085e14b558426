"""The offline LLM: SmolLM2's GGUF served by llama.cpp in this process, reached over real HTTP."""

from __future__ import annotations

from typing import get_args

import pytest
from pydantic import BaseModel, Field

from trex.llm.client import LLMUsage
from trex.llm.structured import structured
from trex.plan import Strategy

pytest.importorskip("xllamacpp")


class Pick(BaseModel):
    strategy: Strategy
    reason: str = Field(max_length=80)  # llama.cpp's grammar bounds the string: the answer always ends


from trex.llm.local import LocalLlamaClient, gguf_path, is_local_model  # noqa: E402


@pytest.mark.slow
def test_local_model_answers_schema_constrained_json_over_http() -> None:
    client = LocalLlamaClient("embedded:smollm2-135m-instruct", max_tokens=200)
    try:
        assert client.server.base_url.startswith("http://127.0.0.1:")
        usage = LLMUsage()
        messages = [{"role": "user", "content": "One label is often wrong. Pick a strategy; answer in JSON."}]
        choice = structured(client, messages, Pick, usage, attempts=1)
        assert choice.strategy in get_args(Strategy)  # the grammar holds even a 135M model to the schema
        assert len(choice.reason) <= 80
        assert usage.prompt_tokens > 0 and usage.completion_tokens > 0 and usage.usd == 0.0
    finally:
        client.close()


def test_local_model_references() -> None:
    assert is_local_model("embedded:smollm2-135m-instruct") and is_local_model("/models/x.gguf")
    assert not is_local_model("gpt-4o-mini")
    with pytest.raises(FileNotFoundError, match="no such GGUF file"):
        gguf_path("/nowhere/model.gguf")
