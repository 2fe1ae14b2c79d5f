"""Model prices (US dollars per million tokens) and the cost of a request.

The built-in table covers the models kwaak users commonly pick; ``[prices]`` in ``kwaak.toml``
overrides or extends it (``[prices."my-model"] input = 1.0, output = 2.0``). Model names are
matched after normalization: an OpenRouter-style ``vendor/`` prefix, a ``-latest`` suffix and a
date suffix are dropped, ``3.5`` equals ``3-5``, and the longest known prefix wins
(``gpt-4o-mini-2024-07-18`` → ``gpt-4o-mini``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


class PriceLike(Protocol):
    """Anything with input/output/cached-input prices (``config.model.ModelPrice`` fits)."""

    @property
    def input(self) -> float: ...

    @property
    def output(self) -> float: ...

    @property
    def cached_input(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float
    cached_input: float | None = None


# USD per 1M tokens (input, output, cached input), list prices of the providers.
KNOWN_PRICES: dict[str, Price] = {
    "gpt-4o-mini": Price(0.15, 0.60, 0.075),
    "gpt-4o": Price(2.50, 10.00, 1.25),
    "gpt-4.1-nano": Price(0.10, 0.40, 0.025),
    "gpt-4.1-mini": Price(0.40, 1.60, 0.10),
    "gpt-4.1": Price(2.00, 8.00, 0.50),
    "gpt-5-nano": Price(0.05, 0.40, 0.005),
    "gpt-5-mini": Price(0.25, 2.00, 0.025),
    "gpt-5": Price(1.25, 10.00, 0.125),
    "o1-mini": Price(1.10, 4.40, 0.55),
    "o1": Price(15.00, 60.00, 7.50),
    "o3-mini": Price(1.10, 4.40, 0.55),
    "o3": Price(2.00, 8.00, 0.50),
    "o3-pro": Price(20.00, 80.00),
    "o4-mini": Price(1.10, 4.40, 0.275),
    "text-embedding-3-small": Price(0.02, 0.0),
    "text-embedding-3-large": Price(0.13, 0.0),
    "text-embedding-ada-002": Price(0.10, 0.0),
    "claude-3-haiku": Price(0.25, 1.25, 0.03),
    "claude-3-5-haiku": Price(0.80, 4.00, 0.08),
    "claude-3-5-sonnet": Price(3.00, 15.00, 0.30),
    "claude-3-7-sonnet": Price(3.00, 15.00, 0.30),
    "claude-3-opus": Price(15.00, 75.00, 1.50),
    "claude-haiku-4-5": Price(1.00, 5.00, 0.10),
    "claude-sonnet-4": Price(3.00, 15.00, 0.30),
    "claude-opus-4-5": Price(5.00, 25.00, 0.50),
    "claude-opus-4": Price(15.00, 75.00, 1.50),
}

# Anthropic bills prompt-cache writes at 1.25x the input price.
CACHE_WRITE_MULTIPLIER = 1.25

_DATE_SUFFIX = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2})$")


def normalize_model(name: str) -> str:
    """Canonical form of a model name for price lookup."""
    name = name.strip().lower().rsplit("/", 1)[-1]
    name = name.removesuffix("-latest")
    name = _DATE_SUFFIX.sub("", name)
    return re.sub(r"(?<=\d)\.(?=\d)", "-", name) if name.startswith("claude") else name


def price_for(model: str, overrides: Mapping[str, PriceLike] | None = None) -> PriceLike | None:
    """The price of ``model``: an exact override, else the normalized name in the built-in table as
    extended/replaced by the overrides (exact match first, then the longest known prefix)."""
    overrides = overrides or {}
    if model in overrides:
        return overrides[model]
    table: dict[str, PriceLike] = {**KNOWN_PRICES, **{normalize_model(k): v for k, v in overrides.items()}}
    normalized = normalize_model(model)
    if normalized in table:
        return table[normalized]
    prefixes = [k for k in table if normalized.startswith(k + "-")]
    return table[max(prefixes, key=len)] if prefixes else None


def cost_usd(
    price: PriceLike | None,
    *,
    input_tokens: int,
    output_tokens: int,
    cached_tokens: int = 0,
    cache_write_tokens: int = 0,
) -> float:
    """The cost of one request. ``input_tokens`` includes cached and cache-write tokens.

    Cached tokens are billed at ``cached_input`` (or the input price when unknown); cache writes at
    1.25x input. Unknown models cost 0.
    """
    if price is None:
        return 0.0
    cached_rate = price.cached_input if price.cached_input is not None else price.input
    fresh = max(0, input_tokens - cached_tokens - cache_write_tokens)
    total = (
        fresh * price.input
        + cached_tokens * cached_rate
        + cache_write_tokens * price.input * CACHE_WRITE_MULTIPLIER
        + output_tokens * price.output
    )
    return total / 1_000_000
