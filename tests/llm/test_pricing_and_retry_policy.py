"""Price lookup and cost arithmetic; the backoff schedule and error mapping helpers."""

from __future__ import annotations

import random

import pytest

from kwaak.config.model import BackoffConfig, ModelPrice
from kwaak.errors import BadRequest, ProviderError, RateLimited, Transient
from kwaak.llm.errors import error_detail, from_status, parse_retry_after
from kwaak.llm.pricing import KNOWN_PRICES, cost_usd, normalize_model, price_for
from kwaak.llm.retry import RetryPolicy, with_retries


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4.1-mini", "gpt-4.1-mini"),
        ("o3-mini", "o3-mini"),
        ("claude-3-5-sonnet-latest", "claude-3-5-sonnet"),
        ("anthropic/claude-3.5-sonnet", "claude-3-5-sonnet"),
        ("claude-3-7-sonnet-20250219", "claude-3-7-sonnet"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4"),
        ("claude-sonnet-4-5", "claude-sonnet-4"),
        ("openai/gpt-4o", "gpt-4o"),
    ],
)
def test_price_lookup_normalizes_names(name: str, expected: str) -> None:
    assert price_for(name) == KNOWN_PRICES[expected]


def test_unknown_models_have_no_price() -> None:
    assert price_for("llama3.1:8b") is None
    assert cost_usd(None, input_tokens=10**6, output_tokens=10**6) == 0.0


def test_config_prices_override_and_extend_the_table() -> None:
    overrides = {"gpt-4o": ModelPrice(input=1, output=1), "my-finetune": ModelPrice(input=3, output=4)}
    assert price_for("gpt-4o", overrides) == overrides["gpt-4o"]
    assert price_for("gpt-4o-2024-08-06", overrides) == overrides["gpt-4o"]
    assert price_for("my-finetune", overrides) == overrides["my-finetune"]
    assert price_for("gpt-4o-mini", overrides) == KNOWN_PRICES["gpt-4o-mini"]


def test_cost_accounts_for_cache_reads_and_writes() -> None:
    price = ModelPrice(input=10, output=20, cached_input=1)
    assert cost_usd(price, input_tokens=1000, output_tokens=100, cached_tokens=600, cache_write_tokens=200) == (
        pytest.approx((200 * 10 + 600 * 1 + 200 * 12.5 + 100 * 20) / 1e6)
    )
    no_cache_price = ModelPrice(input=10, output=20)
    assert cost_usd(no_cache_price, input_tokens=1000, output_tokens=0, cached_tokens=1000) == pytest.approx(0.01)


def test_normalize_keeps_openai_dots() -> None:
    assert normalize_model("GPT-4.1") == "gpt-4.1"


def test_backoff_schedule_grows_and_stays_within_randomization() -> None:
    policy = RetryPolicy.from_config(
        BackoffConfig(initial_interval_sec=1, multiplier=3, randomization_factor=0.1, max_elapsed_time_sec=100)
    )
    rng = random.Random(7)
    for attempt, base in enumerate([1, 3, 9, 27]):
        for _ in range(20):
            assert base * 0.9 <= policy.interval(attempt, rng=rng) <= base * 1.1
    assert policy.wait_for(RateLimited("x", retry_after=4.5), 3) == 4.5
    assert RetryPolicy(randomization_factor=0).wait_for(Transient("x"), 1) == 30


async def test_with_retries_follows_policy_without_real_sleeping() -> None:
    now = [0.0]
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 4:
            raise Transient("temporary")
        return "ok"

    policy = RetryPolicy(initial_interval=1, multiplier=2, randomization_factor=0, max_elapsed_time=60)
    assert await with_retries(flaky, policy, sleep=fake_sleep, clock=lambda: now[0]) == "ok"
    assert waits == [1, 2, 4]


async def test_with_retries_stops_at_max_elapsed_and_never_retries_bad_requests() -> None:
    now = [0.0]
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    async def always_down() -> str:
        raise Transient("down")

    policy = RetryPolicy(initial_interval=10, multiplier=2, randomization_factor=0, max_elapsed_time=69)
    with pytest.raises(Transient):
        await with_retries(always_down, policy, sleep=fake_sleep, clock=lambda: now[0])
    assert waits == [10, 20], "10 + 20 = 30 elapsed; waiting 40 more would pass 69"

    attempts = 0

    async def bad() -> str:
        nonlocal attempts
        attempts += 1
        raise BadRequest("nope")

    with pytest.raises(BadRequest):
        await with_retries(bad, policy, sleep=fake_sleep, clock=lambda: now[0])
    assert attempts == 1


def test_retry_after_parsing() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == pytest.approx(10.0)
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize(
    ("status", "detail", "expected"),
    [
        (401, "bad key", "AuthError"),
        (403, "no", "AuthError"),
        (429, "slow", "RateLimited"),
        (400, "This model's maximum context length is 8192 tokens", "ContextTooLong"),
        (400, "bad", "BadRequest"),
        (422, "bad", "BadRequest"),
        (500, "x", "Transient"),
        (529, "overloaded", "Transient"),
        (408, "x", "Transient"),
    ],
)
def test_from_status(status: int, detail: str, expected: str) -> None:
    error = from_status(status, detail, provider="OpenAI", headers={"retry-after": "2"})
    assert type(error).__name__ == expected
    assert isinstance(error, ProviderError) and error.hint and detail in error.message
    if isinstance(error, RateLimited):
        assert error.retry_after == 2.0


def test_retry_after_ms_header_wins() -> None:
    error = from_status(429, "x", provider="OpenAI", headers={"retry-after-ms": "250", "retry-after": "9"})
    assert isinstance(error, RateLimited) and error.retry_after == 0.25


def test_error_detail_reads_both_body_shapes() -> None:
    assert error_detail({"error": {"message": "openai says"}}) == "openai says"
    assert error_detail({"type": "error", "error": {"type": "x", "message": "anthropic says"}}) == "anthropic says"
    assert error_detail("plain", "fallback") == "plain"
    assert error_detail(None, "fallback") == "fallback"
