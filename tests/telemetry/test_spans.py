"""The span tree of a real scripted session, exported through the OpenTelemetry SDK."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

from kwaak import protocol as p
from kwaak import telemetry
from kwaak.backend import Backend, Models
from kwaak.config import Config
from kwaak.config.secrets import collect_secrets
from kwaak.errors import ProviderError
from kwaak.llm.testing import ScriptedModel, Step, call
from kwaak.messages import AssistantMessage, Message, ToolSpec
from tests.telemetry.conftest import Traced

GITHUB_SECRET = "ghp_sentinelTOKEN0123456789"
MCP_SECRET = "mcp-env-sentinel-9876"
SECRETS_CONFIG: dict[str, Any] = {
    "github_api_key": f"text:{GITHUB_SECRET}",
    "mcp": [{"name": "dummy", "command": "true", "env": {"DUMMY_TOKEN": f"text:{MCP_SECRET}"}}],
}
BIG_FILE = "x = 1\n" * 2_000


def by_name(spans: Iterable[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def parent_name(span: ReadableSpan, spans: Sequence[ReadableSpan]) -> str | None:
    if span.parent is None:
        return None
    parents = [s for s in spans if s.context.span_id == span.parent.span_id]
    assert len(parents) == 1, f"{span.name}'s parent was not exported"
    return parents[0].name


def every_text(spans: Iterable[ReadableSpan]) -> str:
    """Names, attributes, event attributes and status descriptions of all spans, as one string."""
    parts: list[Any] = []
    for span in spans:
        parts += [span.name, dict(span.attributes or {}), span.status.description or ""]
        parts += [dict(event.attributes or {}) for event in span.events]
    return json.dumps(parts, default=str)


async def run_chat(config: Config, repo: Path, model: ScriptedModel, message: str) -> p.CommandCompleted:
    backend = Backend(config, repo, models=Models(indexing=ScriptedModel(prompt_reply="Telemetry"), query=model))
    try:
        return await backend.run_op("s1", p.Chat(message=message))
    finally:
        await backend.aclose()


async def test_scripted_session_span_tree(
    traced: Callable[..., Traced], make_config: Callable[..., Config], tmp_git_repo: Path
) -> None:
    config = make_config(**SECRETS_CONFIG)
    secrets = collect_secrets(config)
    assert {GITHUB_SECRET, MCP_SECRET} <= set(secrets)
    trace = traced(secrets=secrets, command="run-agent")
    model = ScriptedModel(
        [
            call("write_file", file_name="big.py", content=BIG_FILE),
            call("read_file_with_line_numbers", file_name="big.py"),
            Step(text="Done.", tool_calls=(("stop", {}),)),
        ]
    )
    done = await run_chat(config.model_copy(update={"mcp": None}), tmp_git_repo, model, f"use {GITHUB_SECRET}")
    assert done.ok, done
    trace.shutdown()
    spans = trace.spans()

    (main,) = by_name(spans, "main")
    assert main.parent is None and main.attributes == {
        "kwaak.version": main.attributes["kwaak.version"],
        "command": "run-agent",
    }
    (chat,) = by_name(spans, "command.chat")
    assert parent_name(chat, spans) == "main"
    assert chat.attributes == {"session_id": "s1", "command": "chat"}
    turns = by_name(spans, "agent.turn")
    assert turns and all(parent_name(t, spans) == "command.chat" for t in turns)
    assert str(turns[0].attributes["branch"]).startswith("kwaak/telemetry-")

    completions = by_name(spans, "llm.completion")
    assert len(completions) == 3
    for span in completions:
        assert parent_name(span, spans) == "agent.turn"
        attrs = span.attributes or {}
        assert attrs["model"] == "scripted"
        assert int(attrs["llm.input_tokens"]) > 0 and int(attrs["llm.output_tokens"]) > 0  # type: ignore[arg-type]
        assert attrs["llm.tool_calls"] == 1
    tools = [s for s in spans if s.name.startswith("tool.")]
    assert [s.name for s in tools] == ["tool.write_file", "tool.read_file_with_line_numbers", "tool.stop"]
    for span in tools:
        assert parent_name(span, spans) == "agent.turn"
        assert span.status.status_code is StatusCode.UNSET
    assert [(s.attributes or {}).get("tool.ok") for s in tools] == [True, True, None]
    assert (tools[-1].attributes or {}).get("agent.stopped") is True  # control flow, not an error
    # One trace, and everything ended.
    assert len({s.context.trace_id for s in spans}) == 1
    assert all(s.end_time is not None for s in spans)
    text = every_text(spans)
    assert GITHUB_SECRET not in text and MCP_SECRET not in text
    assert "x = 1" not in text  # no file contents


async def test_provider_error_is_recorded_masked(
    traced: Callable[..., Traced], make_config: Callable[..., Config], tmp_git_repo: Path
) -> None:
    config = make_config(**SECRETS_CONFIG)
    trace = traced(secrets=collect_secrets(config))

    def policy(messages: Sequence[Message], tools: Sequence[ToolSpec]) -> AssistantMessage:
        msg = f"invalid credentials {GITHUB_SECRET} for {MCP_SECRET}"
        raise ProviderError(msg)

    done = await run_chat(config.model_copy(update={"mcp": None}), tmp_git_repo, ScriptedModel(policy), "hi")
    assert not done.ok
    trace.shutdown()
    spans = trace.spans()
    for name in ("llm.completion", "agent.turn", "command.chat"):
        (span,) = by_name(spans, name)
        assert span.status.status_code is StatusCode.ERROR, name
        assert span.status.description == "ProviderError: invalid credentials **** for ****"
        (event,) = span.events
        assert event.name == "exception" and event.attributes
        assert event.attributes["exception.type"] == "ProviderError"
    text = every_text(spans)
    assert GITHUB_SECRET not in text and MCP_SECRET not in text


async def test_stopped_agent_is_cancelled_not_failed(traced: Callable[..., Traced]) -> None:
    import asyncio

    trace = traced()

    async def turn() -> None:
        with telemetry.span("agent.turn", session_id="s1"):
            await asyncio.sleep(10)

    task = asyncio.create_task(turn())
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    trace.shutdown()
    (span,) = by_name(trace.spans(), "agent.turn")
    assert span.attributes == {"session_id": "s1", "cancelled": True}
    assert span.status.status_code is StatusCode.UNSET


def test_shutdown_uninstalls_and_is_idempotent(traced: Callable[..., Traced]) -> None:
    trace = traced()
    with telemetry.span("tool.x", tool="x") as span:
        span.set_attribute("n", 1)
    trace.shutdown()
    trace.shutdown()
    with telemetry.span("after.shutdown"):
        pass
    assert [s.name for s in trace.spans()] == ["tool.x", "main"]
