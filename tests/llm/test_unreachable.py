"""A configured endpoint that cannot be reached fails at once, naming the URL; retries are announced."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import pytest

from kwaak.config.model import BackoffConfig
from kwaak.errors import RateLimited, Transient, Unreachable
from kwaak.llm import make_embedder, make_model
from kwaak.llm.errors import endpoint_label, map_provider_error
from kwaak.llm.http import ConnectError, HTTPClient
from kwaak.llm.retry import RetryNotice, RetryPolicy, retry_notices, with_retries
from kwaak.messages import UserMessage
from tests.fakes.provider_server import FakeProviderServer
from tests.llm.helpers import anthropic_cfg, ollama_cfg, openai_cfg

SLOW_BACKOFF = BackoffConfig()  # 15 s, 30 s, 60 s: a retried failure would take minutes


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Closed:
    """A FakeProviderServer stand-in whose URL has nothing listening."""

    url = f"http://127.0.0.1:{closed_port()}"


@pytest.mark.parametrize("build", [openai_cfg, anthropic_cfg], ids=["openai", "anthropic"])
async def test_refused_connection_to_a_base_url_fails_fast(build: Any) -> None:
    cfg = build(Closed())
    model = make_model(cfg, backoff=SLOW_BACKOFF)
    started = time.monotonic()
    with pytest.raises(Unreachable) as info:
        await model.complete([UserMessage(content="hi")])
    assert time.monotonic() - started < 5
    url = cfg.base_url.rstrip("/")
    assert info.value.message == f"cannot connect to {url}: connection refused"
    assert info.value.hint is not None and url in info.value.hint
    assert "OpenAI" not in info.value.message and "Anthropic" not in info.value.message


async def test_tls_to_a_plain_http_server_fails_fast(provider_server: FakeProviderServer) -> None:
    cfg = ollama_cfg(provider_server, prompt_model="llama3")
    https = cfg.model_copy(update={"base_url": cfg.base_url.replace("http://", "https://")})
    model = make_model(https, backoff=SLOW_BACKOFF)
    with pytest.raises(Unreachable) as info:
        await asyncio.wait_for(model.complete([UserMessage(content="hi")]), 10)
    assert "TLS error" in info.value.message and https.base_url.rstrip("/") in info.value.message


async def test_unreachable_embedding_endpoint_fails_fast() -> None:
    embedder = make_embedder(openai_cfg(Closed(), embedding_model="text-embedding-3-small"), backoff=SLOW_BACKOFF)
    started = time.monotonic()
    with pytest.raises(Unreachable):
        await embedder.embed(["some code"])
    assert time.monotonic() - started < 5


async def test_unknown_host_is_unreachable_but_only_for_a_configured_url() -> None:
    with pytest.raises(ConnectError) as info:  # .invalid never resolves (RFC 2606)
        await HTTPClient().request("POST", "http://nowhere.invalid/v1/chat/completions", body=b"{}")
    error = info.value
    assert isinstance(error.__cause__, socket.gaierror)
    mapped = map_provider_error(error, provider="http://nowhere.invalid/v1")
    assert isinstance(mapped, Unreachable) and mapped.message.endswith("unknown host name")
    assert mapped.endpoint == "http://nowhere.invalid/v1"
    # The public API without a base_url: a network blip is retried as before.
    assert isinstance(map_provider_error(error, provider="OpenAI"), Transient)


def test_endpoint_label_prefers_the_configured_url() -> None:
    assert endpoint_label("OpenAI", "http://localhost:8000/v1/") == "http://localhost:8000/v1"
    assert endpoint_label("OpenAI", None) == "OpenAI"


def test_policy_counts_the_retries_it_allows() -> None:
    assert RetryPolicy().max_retries() == 3  # 15 + 30 + 60 s fit in 120 s
    assert RetryPolicy(max_elapsed_time=0).max_retries() == 0


async def test_retries_are_announced_to_the_context_listener() -> None:
    notices: list[RetryNotice] = []
    failures = [RateLimited("429", retry_after=7.0), Transient("HTTP 503: overloaded")]
    for failure in failures:
        failure.endpoint = "http://127.0.0.1:9/v1"

    async def flaky() -> str:
        if failures:
            raise failures.pop(0)
        return "ok"

    async def no_sleep(seconds: float) -> None:
        return None

    token = retry_notices.set(notices.append)
    try:
        policy = RetryPolicy(initial_interval=1, multiplier=2, randomization_factor=0, max_elapsed_time=100)
        assert await with_retries(flaky, policy, sleep=no_sleep) == "ok"
    finally:
        retry_notices.reset(token)
    assert notices == [
        RetryNotice("http://127.0.0.1:9/v1", "rate limited", 7.0, 1, 6),
        RetryNotice("http://127.0.0.1:9/v1", "HTTP 503: overloaded", 2.0, 2, 6),
    ]
