"""Provider failures become kwaak errors with hints; only rate limits and transient faults are retried."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from kwaak.config.model import BackoffConfig
from kwaak.errors import AuthError, BadRequest, ContextTooLong, ProviderError, RateLimited, Transient
from kwaak.llm import make_model
from kwaak.llm.anthropic_adapter import AnthropicClientSpec, AnthropicModel
from kwaak.llm.openai_adapter import OpenAIChatModel, OpenAIClientSpec
from kwaak.llm.retry import RetryPolicy
from kwaak.messages import UserMessage
from tests.fakes.provider_server import FakeProviderServer, Fault, reply
from tests.llm.helpers import anthropic_cfg, azure_cfg, openai_cfg

CfgBuilder = Callable[[FakeProviderServer], Any]
PROVIDERS: list[tuple[str, CfgBuilder]] = [("openai", openai_cfg), ("azure", azure_cfg), ("anthropic", anthropic_cfg)]
IDS = [p[0] for p in PROVIDERS]
BUILDERS = [p[1] for p in PROVIDERS]


@pytest.mark.parametrize("build", BUILDERS, ids=IDS)
@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Fault.http(401, "invalid api key"), AuthError),
        (Fault.http(403, "forbidden"), AuthError),
        (Fault.http(400, "messages.0: bad field"), BadRequest),
        (Fault.http(404, "model not found"), BadRequest),
        (Fault.context_too_long(), ContextTooLong),
        (Fault.http(400, "prompt is too long: 208000 tokens > 200000 maximum"), ContextTooLong),
    ],
)
async def test_non_retryable_errors_are_raised_at_once(
    build: CfgBuilder,
    fault: Fault,
    expected: type[ProviderError],
    provider_server: FakeProviderServer,
    fast_backoff: BackoffConfig,
) -> None:
    provider_server.enqueue(fault, reply("never reached"))
    model = make_model(build(provider_server), backoff=fast_backoff)
    with pytest.raises(expected) as info:
        await model.complete([UserMessage(content="x")])
    assert type(info.value) is expected
    assert fault.message in info.value.message
    assert info.value.hint
    assert len(provider_server.requests) == 1, "non-retryable errors must not be retried"
    assert provider_server.pending == 1


@pytest.mark.parametrize("build", BUILDERS, ids=IDS)
@pytest.mark.parametrize("streaming", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize(
    "fault",
    [
        Fault.http(500, "boom"),
        Fault.http(503, "unavailable"),
        Fault.http(529, "overloaded"),
        Fault.http(429, "slow down"),
        Fault.reset(),
        Fault.garbage(),
        Fault.bad_utf8(),
        Fault.truncate(),
    ],
    ids=["500", "503", "529", "429", "reset", "garbage", "bad-utf8", "truncate"],
)
async def test_transient_faults_are_retried_until_success(
    build: CfgBuilder, streaming: bool, fault: Fault, provider_server: FakeProviderServer, fast_backoff: BackoffConfig
) -> None:
    provider_server.enqueue(fault, fault, reply("recovered"))
    model = make_model(build(provider_server), backoff=fast_backoff)
    deltas: list[str] = []
    response = await model.complete([UserMessage(content="x")], on_text_delta=deltas.append if streaming else None)
    assert response.message.content == "recovered"
    assert len(provider_server.requests) == 3
    assert provider_server.pending == 0


@pytest.mark.parametrize("build", BUILDERS, ids=IDS)
@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Fault.http(502, "bad gateway"), Transient),
        (Fault.http(429, "quota"), RateLimited),
        (Fault.reset(), Transient),
        (Fault.garbage(), Transient),
        (Fault.bad_utf8(), Transient),
        (Fault.truncate(), Transient),
    ],
)
async def test_each_fault_maps_to_its_error_class(
    build: CfgBuilder,
    fault: Fault,
    expected: type[ProviderError],
    provider_server: FakeProviderServer,
    no_retry: BackoffConfig,
) -> None:
    provider_server.enqueue(fault)
    # A configured window: no context-window probe, so the request goes out on a fresh connection (a
    # reset before any response byte on a reused keep-alive connection is sent once more, like a
    # dropped idle connection: tests/llm/test_http_client.py).
    model = make_model(build(provider_server, context_window=128_000), backoff=no_retry)
    with pytest.raises(expected) as info:
        await model.complete([UserMessage(content="x")], on_text_delta=lambda _: None)
    assert type(info.value) is expected and info.value.retryable
    assert info.value.hint
    assert "sk-" not in info.value.message and "azure-test-key" not in info.value.message


@pytest.mark.parametrize("build", BUILDERS, ids=IDS)
async def test_retry_after_header_is_honoured(build: CfgBuilder, provider_server: FakeProviderServer) -> None:
    slow_backoff = BackoffConfig(initial_interval_sec=5, multiplier=2, randomization_factor=0, max_elapsed_time_sec=10)
    provider_server.enqueue(Fault.http(429, "rate limited", retry_after=0.3), reply("ok"))
    model = make_model(build(provider_server), backoff=slow_backoff)
    started = time.monotonic()
    response = await model.complete([UserMessage(content="x")])
    elapsed = time.monotonic() - started
    assert response.message.content == "ok"
    assert 0.3 <= elapsed < 3, "waited for retry-after (0.3 s), not the 5 s backoff interval"


async def test_rate_limited_carries_retry_after(provider_server: FakeProviderServer, no_retry: BackoffConfig) -> None:
    provider_server.enqueue(Fault.http(429, "rate limited", retry_after=7))
    model = make_model(openai_cfg(provider_server), backoff=no_retry)
    with pytest.raises(RateLimited) as info:
        await model.complete([UserMessage(content="x")])
    assert info.value.retry_after == 7.0


async def test_retries_give_up_after_max_elapsed_time(provider_server: FakeProviderServer) -> None:
    backoff = BackoffConfig(initial_interval_sec=0.05, multiplier=2, randomization_factor=0, max_elapsed_time_sec=0.3)
    provider_server.enqueue(*[Fault.http(500, f"boom {i}") for i in range(20)])
    model = make_model(openai_cfg(provider_server), backoff=backoff)
    started = time.monotonic()
    with pytest.raises(Transient):
        await model.complete([UserMessage(content="x")])
    assert time.monotonic() - started < 1.5
    # waits 0.05 + 0.1 (+0.2 would pass 0.3): three attempts
    assert len(provider_server.requests) == 3


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_hanging_request_times_out_as_transient(kind: str, provider_server: FakeProviderServer) -> None:
    provider_server.enqueue(Fault.hang(10))
    policy = RetryPolicy(max_elapsed_time=0)
    model = (
        OpenAIChatModel(
            OpenAIClientSpec(api_key="k", base_url=provider_server.url + "/v1", timeout=0.3),
            model="gpt-4o",
            policy=policy,
        )
        if kind == "openai"
        else AnthropicModel(
            AnthropicClientSpec(api_key="k", base_url=provider_server.url, timeout=0.3),
            model="claude-sonnet-4-20250514",
            policy=policy,
        )
    )
    await model.warm_up()
    started = time.monotonic()
    with pytest.raises(Transient) as info:
        await model.complete([UserMessage(content="x")])
    assert time.monotonic() - started < 3
    assert "in time" in info.value.message
    await model.aclose()


async def test_connection_refused_is_transient(fast_backoff: BackoffConfig) -> None:
    with FakeProviderServer() as srv:
        url = srv.url
    model = OpenAIChatModel(
        OpenAIClientSpec(api_key="k", base_url=url + "/v1"),
        model="gpt-4o",
        policy=RetryPolicy(initial_interval=0.01, max_elapsed_time=0.05),
    )
    with pytest.raises(Transient) as info:
        await model.complete([UserMessage(content="x")])
    assert "connection to OpenAI failed" in info.value.message


@pytest.mark.parametrize("build", BUILDERS, ids=IDS)
@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Fault.stream_error("overloaded_error", "Overloaded"), Transient),
        (Fault.stream_error("server_error", "The server had an error"), Transient),
        (Fault.stream_error("rate_limit_error", "Too many tokens"), RateLimited),
        (Fault.stream_error("invalid_request_error", "prompt is too long: 300000 tokens"), ContextTooLong),
    ],
)
async def test_error_events_inside_a_stream_are_mapped(
    build: CfgBuilder,
    fault: Fault,
    expected: type[ProviderError],
    provider_server: FakeProviderServer,
    no_retry: BackoffConfig,
) -> None:
    provider_server.enqueue(fault)
    model = make_model(build(provider_server), backoff=no_retry)
    with pytest.raises(expected) as info:
        await model.complete([UserMessage(content="x")], on_text_delta=lambda _: None)
    assert type(info.value) is expected
    assert fault.message in info.value.message


@pytest.mark.parametrize("build", BUILDERS, ids=IDS)
async def test_overloaded_mid_stream_is_retried(
    build: CfgBuilder, provider_server: FakeProviderServer, fast_backoff: BackoffConfig
) -> None:
    provider_server.enqueue(Fault.stream_error(), reply("second try"))
    model = make_model(build(provider_server), backoff=fast_backoff)
    deltas: list[str] = []
    response = await model.complete([UserMessage(content="x")], on_text_delta=deltas.append)
    assert response.message.content == "second try"
    assert "".join(deltas).endswith("second try"), "deltas restart after a retry; the response is authoritative"
