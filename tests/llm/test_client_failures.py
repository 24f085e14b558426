"""Every failure of an OpenAI-compatible call becomes an LLMError with its kind; the start check tells an
unreachable endpoint (refused, 401, 404) from one that answers, even with an error."""

from __future__ import annotations

import pytest

from tests.llm.failing_server import FAILURES, Answer, failing_server, refused_url
from trex.llm.client import LLMError, LLMUnreachable, OpenAIClient, check_endpoint

ASK = [{"role": "user", "content": "hello"}]
SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}}}
EXPECTED = {
    "context_length": "context_length",
    "no_structured_output": "bad_request",  # asked without a schema, the 400 is the call's own error
    "bad_request": "bad_request",
    "auth": "auth",
    "not_found": "not_found",
    "rate_limit": "rate_limit",
    "server": "server",
    "slow": "timeout",
    "empty": "bad_answer",
    "not_json": "bad_answer",
    "tool_calls": "bad_answer",
    "refusal": "refusal",
}


def _client(url: str) -> OpenAIClient:
    return OpenAIClient("m", url, api_key_env="TREX_NO_SUCH_KEY", timeout_s=1.0, max_retries=0)


@pytest.mark.parametrize("failure", sorted(EXPECTED))
def test_each_failure_is_an_llm_error_with_its_kind(failure: str) -> None:
    with failing_server(lambda body: FAILURES[failure]) as (url, requests), pytest.raises(LLMError) as caught:
        _client(url).complete(ASK)
    assert caught.value.kind == EXPECTED[failure], str(caught.value)
    assert requests  # the server was asked


def test_a_refused_connection_is_an_llm_error() -> None:
    with pytest.raises(LLMError) as caught:
        _client(refused_url()).complete(ASK)
    assert caught.value.kind == "connection"


def test_structured_output_is_switched_off_only_when_the_server_says_it_lacks_it() -> None:
    answers = [FAILURES["bad_request"], FAILURES["no_structured_output"], Answer(text='{"a": 1}'), Answer()]
    with failing_server(lambda body: answers.pop(0)) as (url, requests):
        client = _client(url)
        with pytest.raises(LLMError) as caught:  # any other 400: this call fails, structured output stays on
            client.complete(ASK, SCHEMA)
        assert caught.value.kind == "bad_request" and client._json_schema_ok
        assert client.complete(ASK, SCHEMA).text == '{"a": 1}'  # retried without response_format
        assert not client._json_schema_ok
        client.complete(ASK, SCHEMA)
    assert ["response_format" in r for r in requests] == [True, True, False, False]


def test_a_failing_retry_without_structured_output_is_an_llm_error() -> None:
    answers = [FAILURES["no_structured_output"], FAILURES["context_length"]]
    with failing_server(lambda body: answers.pop(0)) as (url, _), pytest.raises(LLMError) as caught:
        _client(url).complete(ASK, SCHEMA)
    assert caught.value.kind == "context_length"


@pytest.mark.parametrize("failure", ["auth", "not_found"])
def test_the_start_check_stops_at_401_and_404(failure: str) -> None:
    with failing_server(lambda body: FAILURES[failure]) as (url, _), pytest.raises(LLMUnreachable) as caught:
        check_endpoint(_client(url))
    assert caught.value.kind == failure and "HTTP" in str(caught.value)


def test_the_start_check_stops_at_a_refused_connection() -> None:
    with pytest.raises(LLMUnreachable, match="no connection"):
        check_endpoint(_client(refused_url()))


@pytest.mark.parametrize("failure", ["bad_request", "server", "context_length", "empty"])
def test_the_start_check_passes_any_other_answer(failure: str) -> None:
    with failing_server(lambda body: FAILURES[failure]) as (url, requests):
        check_endpoint(_client(url))
        check_endpoint(_client(url))
    assert len(requests) == 2 and requests[0]["max_tokens"] == 1
