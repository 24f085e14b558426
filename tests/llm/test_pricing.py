"""LLM prices: the USD budget never counts $0 for a model it cannot price (issue 13, defect 4)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from trex.llm.client import LLMReply, LLMUsage
from trex.llm.pricing import PriceError, model_price, parse_price, read_prices, require_price

ROOT = Path(__file__).resolve().parents[2]


def test_unknown_model_under_a_usd_limit_is_an_error() -> None:
    with pytest.raises(PriceError, match="claude-sonnet-4-5.*--llm-price"):
        require_price("claude-sonnet-4-5", 5.0, "https://api.anthropic.com/v1/")
    assert require_price("claude-sonnet-4-5", None, "https://api.anthropic.com/v1/") == (0.0, 0.0)  # no limit


def test_prices_come_from_the_user_a_file_the_table_or_a_local_model(tmp_path: Path) -> None:
    assert require_price("claude-sonnet-4-5", 5.0, "https://x/v1", price=parse_price("3,15")) == (3.0, 15.0)
    prices = tmp_path / "prices.yaml"
    prices.write_text("qwen3: [0.2, 0.6]\n", encoding="utf-8")
    assert read_prices(prices) == {"qwen3": (0.2, 0.6)}
    assert model_price("qwen3", "https://router/v1", prices_file=prices) == (0.2, 0.6)
    assert model_price("gpt-4o-mini", "http://127.0.0.1:9/v1") == (0.15, 0.6)  # a local proxy to a paid API
    assert model_price("qwen3", "http://localhost:8000/v1") == (0.0, 0.0)  # a model served on this machine
    assert model_price("embedded:smollm2-135m-instruct") == (0.0, 0.0)
    assert model_price("qwen3", "https://router.example/v1") is None
    with pytest.raises(PriceError, match="PROMPT,COMPLETION"):
        parse_price("3")


def test_usage_charges_the_given_price() -> None:
    usage = LLMUsage(prices={"m": (3.0, 15.0)})
    usage.charge("m", LLMReply("x", prompt_tokens=1_000_000, completion_tokens=100_000))
    assert usage.usd == pytest.approx(4.5)


def test_cli_refuses_an_unpriced_model_with_a_usd_limit_before_any_job(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable, "-m", "trex", "run", str(ROOT / "examples" / "tasks" / "tiny.yaml"), "--workspace",
            str(tmp_path / "ws"), "--researcher", "llm", "--llm-model", "claude-sonnet-4-5",
            "--llm-base-url", "https://api.anthropic.com/v1/", "--llm-usd", "1",
        ],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert "no price known for model 'claude-sonnet-4-5'" in out.stderr
    assert not list((tmp_path / "ws").glob("nodes/*/jobs/*"))
