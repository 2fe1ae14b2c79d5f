"""Compatibility suite: the exact requests kwaak sends, checked against the official SDKs' request types.

Every adapter talks to the fake server, which records each request body as sent on the wire. Each
body is then checked against the ``openai`` SDK's ``CompletionCreateParams`` and the ``anthropic``
SDK's ``MessageCreateParams`` (nested ``TypedDict``\\s): unknown fields, missing required fields
(``tool_call_id``, ``tool_use_id``, ``max_tokens``), wrong shapes and literals all fail. (kwaak does
not use OpenAI's Responses API.) The fake server's own validators check what types cannot:
tool-call pairing and strict schemas.
"""

from __future__ import annotations

from typing import Any

import pytest

from kwaak.backend.modelctx import PROBE_PROMPT, PROBE_TOOL
from kwaak.config.model import BackoffConfig
from kwaak.llm import make_model
from kwaak.messages import ToolSpec, UserMessage
from tests.fakes.provider_server import FakeProviderServer, tool_call
from tests.fakes.sdk_types import anthropic_problems, openai_problems
from tests.llm.helpers import anthropic_cfg, azure_cfg, full_history, ollama_cfg, openai_cfg, openrouter_cfg

TOOLS = [
    ToolSpec(
        name="read_file",
        description="Read a file",
        parameters={
            "type": "object",
            "properties": {"file_name": {"type": "string"}, "start": {"type": "integer"}},
            "required": ["file_name"],
        },
    ),
    ToolSpec(  # not expressible in strict mode: sent as a plain schema
        name="free",
        description="Anything goes",
        parameters={"type": "object", "properties": {"x": {}}, "additionalProperties": True},
    ),
    ToolSpec(name="stop", description="Stop the agent"),
]

OPENAI_TABLES = {
    "openai-gpt-4o": lambda srv: openai_cfg(srv, prompt_model="gpt-4o"),
    "openai-o3-mini-reasoning": lambda srv: openai_cfg(srv, prompt_model="o3-mini", reasoning_effort="low"),
    "self-hosted": lambda srv: openai_cfg(srv, prompt_model="qwen2.5-coder", context_window=8192),
    "azure": lambda srv: azure_cfg(srv, prompt_model="gpt-4o-mini"),
    "openrouter": lambda srv: openrouter_cfg(srv, prompt_model="openai/gpt-4o-mini", max_output_tokens=500),
    "ollama": lambda srv: ollama_cfg(srv, prompt_model="qwen2.5-coder:7b"),
}


async def _exercise(model: Any) -> None:
    """The request shapes kwaak sends: agent turns (streamed, with tools and a full history), plain prompts."""
    await model.complete(full_history(), tools=TOOLS, on_text_delta=lambda _: None)
    await model.complete(full_history(), tools=TOOLS)
    await model.complete([UserMessage(content="Summarize")])  # summaries, titles, commit messages
    await model.prompt("name this chat")
    await model.complete([UserMessage(content=PROBE_PROMPT)], tools=[PROBE_TOOL])  # the tool-calling check


@pytest.mark.parametrize("table", sorted(OPENAI_TABLES))
async def test_openai_compatible_requests_match_the_sdk_types(table: str, fast_backoff: BackoffConfig) -> None:
    with FakeProviderServer() as srv:
        srv.enqueue(tool_call("read_file", file_name="a.py"))
        model = make_model(OPENAI_TABLES[table](srv), backoff=fast_backoff)
        await _exercise(model)
        bodies = [r.body for r in srv.requests_to("openai")] + srv.tool_probes
        await model.aclose()
    assert len(bodies) == 5
    assert any(b.get("stream") for b in bodies) and any(b.get("tools") for b in bodies)
    for body in bodies:
        assert openai_problems(body) == [], body


async def test_anthropic_requests_match_the_sdk_types(fast_backoff: BackoffConfig) -> None:
    with FakeProviderServer() as srv:
        model = make_model(anthropic_cfg(srv, prompt_model="claude-3-5-haiku-latest"), backoff=fast_backoff)
        await _exercise(model)
        bodies = [r.body for r in srv.requests_to("anthropic")] + srv.tool_probes
        await model.aclose()
    assert len(bodies) == 5
    for body in bodies:
        assert anthropic_problems(body) == [], body


def test_the_type_check_catches_what_the_apis_reject() -> None:
    ok: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
    assert openai_problems(ok) == []
    assert openai_problems(ok | {"max_output_tokens": 5}) == [
        "body.max_output_tokens: unknown field for CompletionCreateParamsNonStreaming"
    ]
    missing_id = ok | {"messages": [{"role": "tool", "content": "x"}]}
    assert openai_problems(missing_id) == ["body.messages[0].tool_call_id: required by ChatCompletionToolMessageParam"]
    bad_shape = ok | {"messages": [{"role": "assistant", "tool_calls": [{"id": "c", "function": "read_file"}]}]}
    assert openai_problems(bad_shape)
    anthropic: dict[str, Any] = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    assert anthropic_problems(anthropic) == []
    assert anthropic_problems({k: v for k, v in anthropic.items() if k != "max_tokens"}) == [
        "body.max_tokens: required by MessageCreateParamsNonStreaming"
    ]
    no_use_id = anthropic | {"messages": [{"role": "user", "content": [{"type": "tool_result", "content": "x"}]}]}
    assert anthropic_problems(no_use_id)
    assert anthropic_problems(anthropic | {"messages": [{"role": "tool", "content": "x"}]})
