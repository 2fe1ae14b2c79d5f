"""The Anthropic adapter against the fake server: request shape, caching, tool use, streaming, usage."""

from __future__ import annotations

import json

import pytest

from kwaak.config.model import BackoffConfig
from kwaak.llm import make_model
from kwaak.messages import Message, SystemMessage, ToolResult, ToolSpec, UserMessage
from tests.fakes.provider_server import FakeProviderServer, FakeToolCall, Reply, reply, tool_call
from tests.llm.helpers import anthropic_cfg, full_history

READ_FILE = ToolSpec(
    name="read_file",
    description="Read a file",
    parameters={"type": "object", "properties": {"file_name": {"type": "string"}}, "required": ["file_name"]},
)
STOP = ToolSpec(name="stop", description="Stop the agent")
EPHEMERAL = {"type": "ephemeral"}


async def test_request_shape_with_system_tools_and_cache_markers(
    provider_server: FakeProviderServer, fast_backoff: BackoffConfig
) -> None:
    model = make_model(anthropic_cfg(provider_server, prompt_model="claude-3-7-sonnet-latest"), backoff=fast_backoff)
    messages: list[Message] = [SystemMessage(content="You are kwaak."), UserMessage(content="hello")]
    response = await model.complete(messages, tools=[READ_FILE, STOP])
    assert [c.name for c in response.message.tool_calls] == ["stop"]
    (request,) = provider_server.requests
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == "sk-ant-test" and "authorization" not in request.headers
    assert request.headers["anthropic-version"] == "2023-06-01"
    body = request.body
    assert body["model"] == "claude-3-7-sonnet-latest"
    assert body["max_tokens"] == 16384
    assert body["system"] == [{"type": "text", "text": "You are kwaak.", "cache_control": EPHEMERAL}]
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "hello", "cache_control": EPHEMERAL}]}
    ]
    assert [t["name"] for t in body["tools"]] == ["read_file", "stop"]
    assert "cache_control" not in body["tools"][0]
    assert body["tools"][1]["cache_control"] == EPHEMERAL
    assert body["tools"][0]["input_schema"] == READ_FILE.parameters
    assert body["tool_choice"] == {"type": "auto"}
    await model.aclose()


async def test_tool_use_blocks_are_parsed(provider_server: FakeProviderServer, fast_backoff: BackoffConfig) -> None:
    provider_server.enqueue(
        Reply(
            text="Reading both",
            tool_calls=(
                FakeToolCall("read_file", {"file_name": "a.py"}),
                FakeToolCall("read_file", {"file_name": "b.py"}),
            ),
        )
    )
    model = make_model(anthropic_cfg(provider_server), backoff=fast_backoff)
    response = await model.complete([UserMessage(content="x")], tools=[READ_FILE])
    assert response.message.content == "Reading both"
    assert [(c.name, json.loads(c.arguments)) for c in response.message.tool_calls] == [
        ("read_file", {"file_name": "a.py"}),
        ("read_file", {"file_name": "b.py"}),
    ]
    assert all(c.id.startswith("toolu_") for c in response.message.tool_calls)
    assert response.finish_reason == "tool_use"


async def test_streaming_deltas_tool_input_and_cached_usage(
    provider_server: FakeProviderServer, fast_backoff: BackoffConfig
) -> None:
    provider_server.enqueue(
        Reply(
            text="I will read the file now.",
            input_tokens=100,
            cached_tokens=900,
            cache_write_tokens=1000,
            output_tokens=40,
            tool_calls=(FakeToolCall("read_file", {"file_name": "src/calc.py"}),),
        )
    )
    model = make_model(anthropic_cfg(provider_server, prompt_model="claude-3-5-sonnet-latest"), backoff=fast_backoff)
    deltas: list[str] = []
    response = await model.complete([UserMessage(content="go")], tools=[READ_FILE], on_text_delta=deltas.append)
    assert len(deltas) > 1 and "".join(deltas) == "I will read the file now." == response.message.content
    (call,) = response.message.tool_calls
    assert (call.name, json.loads(call.arguments)) == ("read_file", {"file_name": "src/calc.py"})
    assert provider_server.requests[0].body["stream"] is True
    usage = response.usage
    assert (usage.input_tokens, usage.cached_tokens, usage.output_tokens) == (2000, 900, 40)
    # claude-3-5-sonnet: $3 in, $0.30 cache read, $3.75 cache write, $15 out per million tokens
    assert usage.cost_usd == pytest.approx((100 * 3 + 900 * 0.3 + 1000 * 3.75 + 40 * 15) / 1e6)
    assert response.finish_reason == "tool_use"


async def test_full_history_is_accepted_by_the_validating_fake(
    provider_server: FakeProviderServer, fast_backoff: BackoffConfig
) -> None:
    model = make_model(anthropic_cfg(provider_server), backoff=fast_backoff)
    response = await model.complete(full_history(), tools=[READ_FILE, STOP])
    assert response.message.tool_calls[0].name == "stop"
    body = provider_server.requests[0].body
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user", "assistant", "user"]
    texts = [b.get("text") for m in body["messages"] for b in m["content"] if b["type"] == "text"]
    assert "# Summary\nYou read calc.py." in texts, "summaries go to Anthropic as user text"
    assert "Remember the constraints." in texts, "later system messages go as user text"


async def test_multi_step_agent_conversation(provider_server: FakeProviderServer, fast_backoff: BackoffConfig) -> None:
    provider_server.enqueue(tool_call("read_file", file_name="a.py"), reply("Done"))
    model = make_model(anthropic_cfg(provider_server), backoff=fast_backoff)
    history: list[Message] = [SystemMessage(content="sys"), UserMessage(content="task")]
    first = await model.complete(history, tools=[READ_FILE], on_text_delta=lambda _: None)
    history += [
        first.message,
        *(ToolResult(call_id=c.id, name=c.name, content="x = 1") for c in first.message.tool_calls),
    ]
    second = await model.complete(history, tools=[READ_FILE])
    assert second.message.content == "Done"
    last = provider_server.requests[1].body["messages"][-1]
    assert last["content"][0]["tool_use_id"] == first.message.tool_calls[0].id


async def test_unanswered_tool_use_is_a_bad_request(
    provider_server: FakeProviderServer, no_retry: BackoffConfig
) -> None:
    from kwaak.errors import BadRequest
    from kwaak.messages import AssistantMessage, ToolCall

    model = make_model(anthropic_cfg(provider_server), backoff=no_retry)
    history: list[Message] = [
        UserMessage(content="task"),
        AssistantMessage(tool_calls=(ToolCall(id="toolu_x", name="read_file"),)),
        UserMessage(content="no result given"),
    ]
    with pytest.raises(BadRequest) as info:
        await model.complete(history)
    assert "toolu_x" in info.value.message
    assert info.value.hint
    assert len(provider_server.requests) == 1


async def test_anthropic_base_url_from_the_environment_when_none_is_configured(
    provider_server: FakeProviderServer, fast_backoff: BackoffConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", provider_server.url)
    provider_server.enqueue(reply("from env"))
    cfg = anthropic_cfg(provider_server).model_copy(update={"base_url": None})
    model = make_model(cfg, backoff=fast_backoff)
    assert await model.prompt("hello") == "from env"
    assert provider_server.requests[0].path == "/v1/messages"
