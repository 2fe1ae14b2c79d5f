"""Context windows, output limits, overflow errors, truncated replies and missing usage, against the fake servers."""

from __future__ import annotations

import pytest

from kwaak.config.model import BackoffConfig
from kwaak.errors import ContextTooLong
from kwaak.llm import make_model
from kwaak.llm.context import default_max_output, known_context_window
from kwaak.llm.tokens import BPE_FROM_TOKENS, CHARS_PER_TOKEN, TokenCounter, encoding_for, estimate_text, wait_for_bpe
from kwaak.messages import AssistantMessage, ToolCall, ToolResult, UserMessage
from tests.fakes.provider_server import FakeProviderServer, Reply
from tests.llm.helpers import anthropic_cfg, azure_cfg, ollama_cfg, openai_cfg

LONG = "word " * 4000  # about 5,000 characters per 1,000 tokens: far over a 500-token window


def test_known_windows_and_output_defaults() -> None:
    assert known_context_window("gpt-4o-mini-2024-07-18") == 128_000
    assert known_context_window("openai/gpt-4o") == 128_000
    assert known_context_window("claude-3-5-haiku-latest") == 200_000
    assert known_context_window("qwen2.5-coder:1.5b") == 32_768
    assert known_context_window("my-own-model") is None
    assert default_max_output("gpt-4o", 128_000) == 16_384
    assert default_max_output("o3-mini", 200_000) == 32_768
    assert default_max_output("my-own-model", None) == 4096
    assert default_max_output("my-own-model", 4096) == 1024  # at most a quarter of a small window


def test_token_counter_counts_and_calibrates() -> None:
    counter = TokenCounter("gpt-4o")
    assert counter.tokenizer == "o200k_base"  # the tokenizer extra is part of the dev install
    assert counter.text("hello world") == 2
    messages = [UserMessage(content="hello world " * 100)]
    raw = counter.raw(messages)
    assert raw == counter.count(messages)
    counter.observe(raw, 2 * raw)  # the server's tokenizer counts twice as many
    assert counter.count(messages) == 2 * raw
    assert estimate_text("x" * 36) == round(36 / CHARS_PER_TOKEN)


def test_counter_counts_tool_calls_and_results() -> None:
    counter = TokenCounter("qwen2.5-coder")
    call = AssistantMessage(tool_calls=(ToolCall(id="c", name="read_file", arguments='{"file_name": "a.py"}'),))
    result = ToolResult(call_id="c", name="read_file", content="print('hi')\n" * 50)
    assert counter.message(call) > 4
    assert counter.message(result) > counter.message(call)


async def test_openai_compatible_server_gets_max_tokens(fast_backoff: BackoffConfig) -> None:
    with FakeProviderServer() as srv:
        model = make_model(openai_cfg(srv, prompt_model="qwen2.5-coder", max_output_tokens=300), backoff=fast_backoff)
        await model.prompt("hi")
        body = srv.requests_to("openai")[0].body
        assert body["max_tokens"] == 300
        assert "max_completion_tokens" not in body


async def test_reasoning_models_and_azure_get_max_completion_tokens(fast_backoff: BackoffConfig) -> None:
    with FakeProviderServer() as srv:
        model = make_model(openai_cfg(srv, prompt_model="o3-mini", reasoning_effort="high"), backoff=fast_backoff)
        await model.prompt("hi")
        body = srv.requests_to("openai")[0].body
        assert body["max_completion_tokens"] == 32_768
        assert body["reasoning_effort"] == "high"
        assert "max_tokens" not in body
        assert model.label == "o3-mini (reasoning high)"
        azure = make_model(azure_cfg(srv, prompt_model="gpt-4o"), backoff=fast_backoff)
        await azure.prompt("hi")
        assert srv.requests_to("openai")[1].body["max_completion_tokens"] == 16_384


async def test_anthropic_max_tokens_from_config(fast_backoff: BackoffConfig) -> None:
    with FakeProviderServer() as srv:
        model = make_model(
            anthropic_cfg(srv, prompt_model="claude-3-5-haiku-latest", max_output_tokens=777), backoff=fast_backoff
        )
        await model.prompt("hi")
        assert srv.requests_to("anthropic")[0].body["max_tokens"] == 777


@pytest.mark.parametrize("api", ["llamacpp", "vllm"])
async def test_window_reported_by_an_openai_compatible_server(api: str, fast_backoff: BackoffConfig) -> None:
    with FakeProviderServer(context_window=8192, reports_window=api) as srv:  # type: ignore[arg-type]
        model = make_model(openai_cfg(srv, prompt_model="fake-model"), backoff=fast_backoff)
        assert await model.context_window() == 8192
        assert await model.context_window() == 8192  # asked once
        assert await model.output_limit() == 2048
        probes = len(srv.probes)
        await model.prompt("hi")
        assert len(srv.probes) == probes
        assert srv.requests_to("openai")[0].body["max_tokens"] == 2048


async def test_window_reported_by_ollama(fast_backoff: BackoffConfig) -> None:
    with FakeProviderServer(context_window=4096, reports_window="ollama") as srv:
        model = make_model(ollama_cfg(srv, prompt_model="qwen2.5-coder:1.5b"), backoff=fast_backoff)
        assert await model.context_window() == 4096
        assert srv.probes[0] == "/api/show"


async def test_configured_window_wins_and_no_probe(fast_backoff: BackoffConfig) -> None:
    with FakeProviderServer(context_window=8192, reports_window="llamacpp") as srv:
        model = make_model(openai_cfg(srv, prompt_model="fake-model", context_window=1000), backoff=fast_backoff)
        assert await model.context_window() == 1000
        assert srv.probes == []


async def test_server_without_window_falls_back_to_table(fast_backoff: BackoffConfig) -> None:
    with FakeProviderServer() as srv:
        model = make_model(openai_cfg(srv, prompt_model="qwen2.5-coder"), backoff=fast_backoff)
        assert await model.context_window() == 32_768


@pytest.mark.parametrize(
    ("shape", "needle"),
    [
        ("openai", "maximum context length"),
        ("anthropic", "prompt is too long"),
        ("llamacpp", "exceeds the available context size"),
    ],
)
async def test_overflow_errors_are_named(shape: str, needle: str, no_retry: BackoffConfig) -> None:
    with FakeProviderServer(context_window=500, overflow=shape) as srv:  # type: ignore[arg-type]
        cfg = anthropic_cfg(srv) if shape == "anthropic" else openai_cfg(srv, prompt_model="fake-model")
        model = make_model(cfg, backoff=no_retry)
        with pytest.raises(ContextTooLong) as info:
            await model.complete([UserMessage(content=LONG)], on_text_delta=lambda _: None)
        assert info.value.message.startswith("context window exceeded")
        assert needle in info.value.message
        assert len(srv.requests) == 1  # not retried as if transient


async def test_cut_stream_after_long_prompt_is_an_overflow(fast_backoff: BackoffConfig) -> None:
    with FakeProviderServer(context_window=1000, overflow="cut", reports_window="llamacpp") as srv:
        model = make_model(openai_cfg(srv, prompt_model="fake-model"), backoff=fast_backoff)
        with pytest.raises(ContextTooLong) as info:
            await model.complete([UserMessage(content=LONG)], on_text_delta=lambda _: None)
        assert "exceeded the context window" in info.value.message
        assert "1,000 tokens" in info.value.message
        assert len(srv.requests) == 1


@pytest.mark.parametrize("api", ["openai", "anthropic"])
@pytest.mark.parametrize("stream", [False, True])
async def test_truncated_replies_are_flagged(api: str, stream: bool, fast_backoff: BackoffConfig) -> None:
    with FakeProviderServer() as srv:
        srv.enqueue(Reply(text="The answer is", truncated=True))
        cfg = anthropic_cfg(srv) if api == "anthropic" else openai_cfg(srv)
        model = make_model(cfg, backoff=fast_backoff)
        response = await model.complete([UserMessage(content="q")], on_text_delta=(lambda _: None) if stream else None)
        assert response.truncated
        assert response.finish_reason == ("max_tokens" if api == "anthropic" else "length")


async def test_missing_stream_usage_is_estimated_and_flagged(fast_backoff: BackoffConfig) -> None:
    with FakeProviderServer(stream_usage=False) as srv:
        srv.enqueue(Reply(text="a reply of a few words"))
        model = make_model(openai_cfg(srv, prompt_model="gpt-4o"), backoff=fast_backoff)
        response = await model.complete([UserMessage(content="hello " * 200)], on_text_delta=lambda _: None)
        usage = response.usage
        assert usage.estimated
        assert 190 < usage.input_tokens < 260  # the BPE the test session loaded counts it (~200)
        assert 3 <= usage.output_tokens <= 10
        assert usage.cost_usd > 0  # priced like reported usage, so cost budgets hold


async def test_reported_usage_is_kept_and_calibrates(fast_backoff: BackoffConfig) -> None:
    with FakeProviderServer() as srv:
        srv.enqueue(Reply(text="ok", input_tokens=50_000, output_tokens=3))
        model = make_model(openai_cfg(srv, prompt_model="fake-model"), backoff=fast_backoff)
        messages = [UserMessage(content="hello " * 1000)]  # big enough to calibrate (not template overhead)
        # Only exact counts calibrate: load the BPE first (it loads by itself once requests grow).
        model.counter.raw([UserMessage(content="word " * 4 * BPE_FROM_TOKENS)])
        assert wait_for_bpe(encoding_for("fake-model"), timeout=60) is not None
        response = await model.complete(messages, on_text_delta=lambda _: None)
        assert not response.usage.estimated
        assert response.usage.input_tokens == 50_000
        assert model.counter.calibration == 2.5  # bounded ratio
        assert model.counter.count(messages) > 2 * model.counter.raw(messages)
