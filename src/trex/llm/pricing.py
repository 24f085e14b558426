"""What an LLM call costs: the price of a model, in USD per million prompt and completion tokens.

``model_price`` decides it in this order, so the ``--llm-usd`` budget never silently counts $0:
1. a price the user gives (``--llm-price PROMPT,COMPLETION``);
2. a prices file the user gives (``--llm-prices FILE``: YAML or JSON, ``model: [prompt, completion]``);
3. the built-in table ``DEFAULT_PRICES`` (list prices of a few hosted models; extend it with 1 or 2),
   also behind a local proxy, which forwards to the paid API;
4. a local model costs 0, explicitly: the embedded GGUF or a ``.gguf`` file run by llama.cpp in this
   process, or an unlisted model on a server of this machine (``localhost``, ``127.0.0.1``, ``::1``).
Otherwise the price is unknown: ``None``. ``require_price`` turns an unknown price into a clear error
when a USD limit is set, before anything runs; without a USD limit tokens are still counted.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from trex.llm.local import is_local_model

Price = tuple[float, float]

# USD per million (prompt, completion) tokens.
DEFAULT_PRICES: dict[str, Price] = {
    "gpt-4o": (2.5, 10.0),
    "gpt-4o-mini": (0.15, 0.6),
    "gpt-4.1": (2.0, 8.0),
    "gpt-4.1-mini": (0.4, 1.6),
}
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}


class PriceError(ValueError):
    """A USD budget was asked for a model whose price trex does not know."""


def parse_price(text: str) -> Price:
    """``"3,15"`` -> (3.0, 15.0): USD per million prompt and completion tokens."""
    parts = [p.strip() for p in text.split(",")]
    try:
        prompt, completion = (float(p) for p in parts)
    except ValueError:
        raise PriceError(f"--llm-price {text!r}: expected PROMPT,COMPLETION in USD per million tokens") from None
    if prompt < 0 or completion < 0:
        raise PriceError(f"--llm-price {text!r}: prices cannot be negative")
    return prompt, completion


def read_prices(path: str | Path) -> dict[str, Price]:
    """A prices file: a mapping ``model: [prompt, completion]`` (YAML or JSON)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise PriceError(f"{path}: cannot read the prices file: {exc}") from None
    if not isinstance(data, dict):
        raise PriceError(f"{path}: expected a mapping model: [prompt, completion]")
    prices = {}
    for model, value in data.items():
        pair = isinstance(value, list | tuple) and len(value) == 2
        if not (pair and all(isinstance(v, int | float) for v in value)):
            raise PriceError(f"{path}: {model}: expected [prompt, completion] in USD per million tokens")
        prices[str(model)] = (float(value[0]), float(value[1]))
    return prices


def is_local(model: str, base_url: str | None) -> bool:
    if base_url is None:
        return is_local_model(model)
    return (urlsplit(base_url).hostname or "") in LOCAL_HOSTS


def model_price(
    model: str, base_url: str | None = None, price: Price | None = None, prices_file: str | Path | None = None
) -> Price | None:
    """The model's price (see the module docstring for the order), or None when unknown."""
    if price is not None:
        return price
    if prices_file is not None:
        found = read_prices(prices_file).get(model)
        if found is not None:
            return found
    if model in DEFAULT_PRICES:
        return DEFAULT_PRICES[model]
    return (0.0, 0.0) if is_local(model, base_url) else None


def require_price(
    model: str,
    usd_limit: float | None,
    base_url: str | None = None,
    price: Price | None = None,
    prices_file: str | Path | None = None,
) -> Price:
    """The model's price; a ``PriceError`` naming the way out when a USD limit is set and the price is unknown."""
    found = model_price(model, base_url, price, prices_file)
    if found is not None:
        return found
    if usd_limit is not None:
        raise PriceError(
            f"--llm-usd {usd_limit:g}: no price known for model {model!r}; give --llm-price PROMPT,COMPLETION "
            "(USD per million tokens) or --llm-prices FILE"
        )
    return (0.0, 0.0)  # no USD limit: tokens are counted, dollars are not
