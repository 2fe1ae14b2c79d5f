"""Anthropic extended thinking: the budget is sent, signed thinking blocks go back unchanged, the label shows it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kwaak import protocol as p
from kwaak.backend import Backend, Models
from kwaak.config.model import BackoffConfig
from kwaak.llm import make_model
from kwaak.messages import UserMessage
from tests.fakes.provider_server import FakeProviderServer, FakeToolCall, Reply
from tests.fakes.sdk_types import anthropic_problems
from tests.llm.helpers import anthropic_cfg


@pytest.mark.parametrize("stream", [False, True])
async def test_thinking_request_and_blocks(stream: bool, fast_backoff: BackoffConfig) -> None:
    with FakeProviderServer() as srv:
        srv.enqueue(Reply(text="done", thinking="Let me think about it."))
        model = make_model(
            anthropic_cfg(srv, prompt_model="claude-sonnet-4-20250514", thinking_budget_tokens=20_000),
            backoff=fast_backoff,
        )
        assert model.label == "claude-sonnet-4-20250514 (thinking 20,000 tokens)"
        response = await model.complete([UserMessage(content="q")], on_text_delta=(lambda _: None) if stream else None)
        body = srv.requests_to("anthropic")[0].body
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 20_000}
    assert body["max_tokens"] > 20_000
    assert anthropic_problems(body) == []
    (block,) = response.message.reasoning
    assert block[0] == "thinking" and block[1] == "Let me think about it." and block[2].startswith("sig-")


async def test_thinking_agent_loop_sends_signed_blocks_back(make_config, tmp_git_repo: Path) -> None:
    # With thinking on, Anthropic rejects a tool loop whose last assistant turn lost its thinking block.
    with FakeProviderServer() as srv:
        srv.enqueue(
            Reply(thinking="I should look around.", tool_calls=(FakeToolCall("shell_command", {"cmd": "echo hi"}),)),
            Reply(thinking="Done now.", tool_calls=(FakeToolCall("stop", {}),)),
        )
        query = {
            "provider": "Anthropic",
            "api_key": "text:k",
            "base_url": srv.url,
            "prompt_model": "claude-sonnet-4-20250514",
            "thinking_budget_tokens": 4096,
        }
        config = make_config(
            llm={"indexing": {"provider": "Scripted"}, "query": query, "embedding": {"provider": "Scripted"}},
            backoff={"initial_interval_sec": 0.01, "max_elapsed_time_sec": 0.1},
        )
        async with Backend(config, tmp_git_repo, models=Models.from_config(config), buffer_events=False) as backend:
            done = await backend.run_op("s", p.Chat(message="look around"))
        bodies = [r.body for r in srv.requests_to("anthropic")]
    assert done.ok, done
    second = bodies[1]["messages"]
    assistant = [m for m in second if m["role"] == "assistant"][-1]
    assert (
        assistant["content"][0]["type"] == "thinking" and assistant["content"][0]["thinking"] == "I should look around."
    )
    assert all(anthropic_problems(b) == [] for b in bodies)


def test_reasoning_survives_the_session_store_and_is_counted() -> None:
    from kwaak.backend.persistence import message_from_dict, message_to_dict
    from kwaak.llm.tokens import TokenCounter
    from kwaak.messages import AssistantMessage, ToolCall

    message = AssistantMessage(
        tool_calls=(ToolCall(id="t1", name="stop"),),
        reasoning=(("thinking", "a long chain of thought " * 20, "sig-1"), ("redacted_thinking", "opaque", "")),
    )
    assert message_from_dict(json.loads(json.dumps(message_to_dict(message)))) == message
    plain = AssistantMessage(tool_calls=message.tool_calls)
    assert TokenCounter("claude-sonnet-4").message(message) > TokenCounter("claude-sonnet-4").message(plain) + 50
