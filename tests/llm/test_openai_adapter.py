"""OpenAI-compatible adapters (OpenAI, Azure, OpenRouter, Ollama, custom base_url) against the fake server."""

from __future__ import annotations

import json

import pytest

from kwaak.config.model import BackoffConfig, ModelPrice
from kwaak.llm import make_model
from kwaak.messages import ToolSpec, UserMessage
from tests.fakes.provider_server import FakeProviderServer, FakeToolCall, Reply, reply, tool_call
from tests.llm.helpers import azure_cfg, full_history, ollama_cfg, openai_cfg, openrouter_cfg

READ_FILE = ToolSpec(
    name="read_file",
    description="Read a file",
    parameters={
        "type": "object",
        "properties": {"file_name": {"type": "string"}, "start": {"type": "integer"}},
        "required": ["file_name"],
    },
)
STOP = ToolSpec(name="stop", description="Stop the agent")


async def test_openai_request_shape(provider_server: FakeProviderServer, fast_backoff: BackoffConfig) -> None:
    model = make_model(openai_cfg(provider_server, prompt_model="gpt-4o"), backoff=fast_backoff)
    response = await model.complete([UserMessage(content="hi")], tools=[READ_FILE, STOP])
    assert response.message.content is None
    assert [c.name for c in response.message.tool_calls] == ["stop"], "the fake stops when script is empty"
    (request,) = provider_server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-openai-test"
    body = request.body
    assert body["model"] == "gpt-4o"
    assert body["tool_choice"] == "auto"
    assert body["parallel_tool_calls"] is True
    assert "stream" not in body
    function = body["tools"][0]["function"]
    assert function["strict"] is True
    assert function["parameters"]["required"] == ["file_name", "start"]
    assert function["parameters"]["additionalProperties"] is False
    await model.aclose()


@pytest.mark.parametrize("model_name", ["o3-mini", "o4-mini", "o1"])
async def test_o_series_omits_parallel_tool_calls(
    provider_server: FakeProviderServer, fast_backoff: BackoffConfig, model_name: str
) -> None:
    model = make_model(openai_cfg(provider_server, prompt_model=model_name), backoff=fast_backoff)
    await model.complete([UserMessage(content="hi")], tools=[STOP])
    assert "parallel_tool_calls" not in provider_server.requests[0].body


async def test_no_tools_sends_no_tool_fields(provider_server: FakeProviderServer, fast_backoff: BackoffConfig) -> None:
    model = make_model(openai_cfg(provider_server), backoff=fast_backoff)
    assert await model.prompt("Name this chat") == "Kwek"
    body = provider_server.requests[0].body
    assert not {"tools", "tool_choice", "parallel_tool_calls"} & body.keys()
    assert body["model"] == "gpt-4o-mini"


async def test_tool_calls_are_parsed_and_optional_nulls_removed(
    provider_server: FakeProviderServer, fast_backoff: BackoffConfig
) -> None:
    provider_server.enqueue(
        Reply(
            text="Reading",
            tool_calls=(
                FakeToolCall("read_file", {"file_name": "a.py", "start": None}),
                FakeToolCall("read_file", {"file_name": "b.py", "start": 3}),
            ),
        )
    )
    model = make_model(openai_cfg(provider_server), backoff=fast_backoff)
    response = await model.complete([UserMessage(content="read")], tools=[READ_FILE])
    assert response.message.content == "Reading"
    assert [json.loads(c.arguments) for c in response.message.tool_calls] == [
        {"file_name": "a.py"},
        {"file_name": "b.py", "start": 3},
    ]
    assert all(c.id.startswith("call_") for c in response.message.tool_calls)
    assert response.finish_reason == "tool_calls"


async def test_streaming_emits_deltas_and_assembles_tool_calls(
    provider_server: FakeProviderServer, fast_backoff: BackoffConfig
) -> None:
    provider_server.enqueue(
        Reply(
            text="Let me read the file first.",
            input_tokens=1000,
            output_tokens=50,
            cached_tokens=400,
            tool_calls=(FakeToolCall("read_file", {"file_name": "x.py"}),),
        )
    )
    model = make_model(openai_cfg(provider_server, prompt_model="gpt-4o"), backoff=fast_backoff)
    deltas: list[str] = []
    response = await model.complete([UserMessage(content="go")], tools=[READ_FILE], on_text_delta=deltas.append)
    assert len(deltas) > 1 and "".join(deltas) == "Let me read the file first."
    assert response.message.content == "Let me read the file first."
    (call,) = response.message.tool_calls
    assert (call.name, json.loads(call.arguments)) == ("read_file", {"file_name": "x.py"})
    body = provider_server.requests[0].body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    usage = response.usage
    assert (usage.input_tokens, usage.output_tokens, usage.cached_tokens, usage.requests) == (1000, 50, 400, 1)
    # gpt-4o: $2.50 in, $1.25 cached in, $10 out per million tokens
    assert usage.cost_usd == pytest.approx((600 * 2.5 + 400 * 1.25 + 50 * 10) / 1e6)


async def test_usage_and_cost_without_streaming_and_price_override(
    provider_server: FakeProviderServer, fast_backoff: BackoffConfig
) -> None:
    provider_server.enqueue(Reply(text="ok", input_tokens=2_000_000, output_tokens=1_000_000))
    prices = {"my-model": ModelPrice(input=1.0, output=2.0)}
    model = make_model(openai_cfg(provider_server, prompt_model="my-model"), backoff=fast_backoff, prices=prices)
    response = await model.complete([UserMessage(content="x")])
    assert response.usage.cost_usd == pytest.approx(4.0)
    assert response.usage.total_tokens == 3_000_000


async def test_unknown_model_costs_nothing(provider_server: FakeProviderServer, fast_backoff: BackoffConfig) -> None:
    model = make_model(openai_cfg(provider_server, prompt_model="some-local-llm"), backoff=fast_backoff)
    response = await model.complete([UserMessage(content="x")])
    assert response.usage.cost_usd == 0.0
    assert response.usage.input_tokens > 0


async def test_full_history_round_trip_is_accepted(
    provider_server: FakeProviderServer, fast_backoff: BackoffConfig
) -> None:
    model = make_model(openai_cfg(provider_server), backoff=fast_backoff)
    response = await model.complete(full_history(), tools=[READ_FILE, STOP])
    assert response.message.tool_calls[0].name == "stop"
    roles = [m["role"] for m in provider_server.requests[0].body["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "tool", "assistant", "assistant", "tool", "system", "user"]


async def test_multi_step_agent_conversation(provider_server: FakeProviderServer, fast_backoff: BackoffConfig) -> None:
    """Feed each reply back with tool results, as the agent loop does; the fake validates pairing."""
    from kwaak.messages import Message, ToolResult

    provider_server.enqueue(tool_call("read_file", file_name="a.py"), reply("All done"))
    model = make_model(openai_cfg(provider_server), backoff=fast_backoff)
    history: list[Message] = [UserMessage(content="task")]
    first = await model.complete(history, tools=[READ_FILE])
    history += [
        first.message,
        *(ToolResult(call_id=c.id, name=c.name, content="x = 1") for c in first.message.tool_calls),
    ]
    second = await model.complete(history, tools=[READ_FILE])
    assert second.message.content == "All done"
    assert provider_server.requests[1].body["messages"][-1] == {
        "role": "tool",
        "tool_call_id": first.message.tool_calls[0].id,
        "content": "x = 1",
    }


async def test_azure_uses_deployment_path_api_version_and_api_key_header(
    provider_server: FakeProviderServer, fast_backoff: BackoffConfig
) -> None:
    model = make_model(azure_cfg(provider_server), backoff=fast_backoff)
    deltas: list[str] = []
    response = await model.complete([UserMessage(content="x")], on_text_delta=deltas.append)
    assert response.message.content == "Kwek" == "".join(deltas)
    (request,) = provider_server.requests
    assert request.path == "/openai/deployments/my-deployment/chat/completions"
    assert request.query == {"api-version": "2024-10-21"}
    assert request.headers["api-key"] == "azure-test-key"
    assert "authorization" not in request.headers


async def test_openrouter_sends_attribution_headers(
    provider_server: FakeProviderServer, fast_backoff: BackoffConfig
) -> None:
    model = make_model(
        openrouter_cfg(provider_server, prompt_model="anthropic/claude-3.5-sonnet"), backoff=fast_backoff
    )
    provider_server.enqueue(Reply(text="hi", input_tokens=1_000_000, output_tokens=0))
    response = await model.complete([UserMessage(content="x")])
    (request,) = provider_server.requests
    assert request.path == "/api/v1/chat/completions"
    assert request.headers["http-referer"] == "https://github.com/bosun-ai/kwaak"
    assert request.headers["x-title"] == "kwaak"
    assert request.headers["authorization"] == "Bearer sk-or-test"
    assert request.body["model"] == "anthropic/claude-3.5-sonnet"
    assert response.usage.cost_usd == pytest.approx(3.0), "claude-3.5-sonnet via OpenRouter is priced like Anthropic"


async def test_ollama_needs_no_key(provider_server: FakeProviderServer, fast_backoff: BackoffConfig) -> None:
    model = make_model(ollama_cfg(provider_server, prompt_model="llama3.1"), backoff=fast_backoff)
    assert await model.prompt("x") == "Kwek"
    (request,) = provider_server.requests
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "llama3.1"


async def test_custom_openai_compatible_base_url(fast_backoff: BackoffConfig) -> None:
    with FakeProviderServer() as srv:
        from kwaak.config.model import OpenAIConfig
        from kwaak.config.secrets import ApiKey

        cfg = OpenAIConfig(
            provider="OpenAI", api_key=ApiKey("k"), base_url=srv.url + "/custom/prefix", prompt_model="qwen2.5-coder"
        )
        model = make_model(cfg, backoff=fast_backoff)
        assert await model.prompt("x") == "Kwek"
        assert srv.requests[0].path == "/custom/prefix/chat/completions"
