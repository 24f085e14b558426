"""Named endpoints: the environment holds the URL without its userinfo and the key's variable name; resolve
puts the userinfo back; an unknown name says how to offer it."""

from __future__ import annotations

import pytest

from trex.llm.endpoints import Endpoint, UnknownEndpoint, register, resolve, split_userinfo


def test_register_keeps_the_userinfo_apart_and_resolve_puts_it_back() -> None:
    env: dict[str, str] = {}
    register("researcher", Endpoint("m", "https://user:s3cret@host:8443/v1", "MY_KEY"), env)
    assert "s3cret" not in env["TREX_LLM_ENDPOINT_RESEARCHER"] and env["TREX_LLM_USERINFO_RESEARCHER"] == "user:s3cret"
    assert resolve("researcher", env) == Endpoint("m", "https://user:s3cret@host:8443/v1", "MY_KEY")
    register("researcher", Endpoint("m", "http://host/v1"), env)  # a later registration without userinfo
    assert "TREX_LLM_USERINFO_RESEARCHER" not in env and resolve("researcher", env).base_url == "http://host/v1"


def test_split_userinfo() -> None:
    assert split_userinfo("http://a:b@h/v1") == ("http://h/v1", "a:b")
    assert split_userinfo("http://h/v1") == ("http://h/v1", None) and split_userinfo(None) == (None, None)


def test_an_unknown_endpoint_says_how_to_offer_it() -> None:
    with pytest.raises(UnknownEndpoint, match="TREX_LLM_ENDPOINT_JUDGE"):
        resolve("judge", {})
