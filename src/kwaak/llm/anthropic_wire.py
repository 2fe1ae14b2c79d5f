"""``kwaak.messages`` ↔ Anthropic messages API wire format.

* Leading system messages become the ``system`` field; later system messages and summaries are
  sent as user turns (Anthropic has no system role inside ``messages``).
* Assistant tool calls become ``tool_use`` blocks; tool results become ``tool_result`` blocks, and
  consecutive user-side items (results, then any user text) are merged into one user turn so that
  every ``tool_use`` is answered in the very next message.
* Prompt caching: ``cache_control`` marks the system prompt, the last tool and the last block of
  the final message (so an agent's growing history is read from the cache on the next step).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, assert_never

from kwaak.messages import (
    AssistantMessage,
    Message,
    SummaryMessage,
    SystemMessage,
    ToolResult,
    ToolSpec,
    UserMessage,
)

JsonDict = dict[str, Any]
Role = Literal["user", "assistant"]
CACHE_CONTROL: JsonDict = {"type": "ephemeral"}


@dataclass(frozen=True, slots=True)
class AnthropicRequest:
    """The ``system`` blocks and the ``messages`` array of a request."""

    system: list[JsonDict]
    messages: list[JsonDict]


def tool_input(arguments: str) -> JsonDict:
    """A tool call's JSON arguments as the object Anthropic wants (invalid JSON is kept under ``_raw``)."""
    try:
        parsed = json.loads(arguments) if arguments.strip() else {}
    except json.JSONDecodeError:
        return {"_raw": arguments}
    return parsed if isinstance(parsed, dict) else {"_raw": arguments}


def _text(text: str | None) -> list[JsonDict]:
    return [{"type": "text", "text": text}] if text and text.strip() else []


def _blocks(message: Message) -> tuple[Role, list[JsonDict]]:
    match message:
        case SystemMessage(content=content) | UserMessage(content=content) | SummaryMessage(content=content):
            return "user", _text(content)
        case AssistantMessage(content=content, tool_calls=calls, reasoning=reasoning):
            uses = [{"type": "tool_use", "id": c.id, "name": c.name, "input": tool_input(c.arguments)} for c in calls]
            return "assistant", [_reasoning_block(*r) for r in reasoning] + _text(content) + uses
        case ToolResult(call_id=call_id, content=content, is_error=is_error):
            block: JsonDict = {"type": "tool_result", "tool_use_id": call_id, "content": content or "(no output)"}
            if is_error:
                block["is_error"] = True
            return "user", [block]
        case _:
            assert_never(message)


def _reasoning_block(kind: str, text: str, signature: str) -> JsonDict:
    if kind == "redacted_thinking":
        return {"type": "redacted_thinking", "data": text}
    return {"type": "thinking", "thinking": text, "signature": signature}


def to_anthropic(messages: Sequence[Message], *, cache: bool = True) -> AnthropicRequest:
    """Translate a history into Anthropic's ``system`` + ``messages``."""
    leading = 0
    while leading < len(messages) and isinstance(messages[leading], SystemMessage):
        leading += 1
    system = [block for m in messages[:leading] for block in _text(m.content)]
    turns: list[JsonDict] = []
    for message in messages[leading:]:
        role, blocks = _blocks(message)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    for turn in turns:
        # tool_result blocks must come before any text in a user turn.
        turn["content"].sort(key=lambda b: b["type"] != "tool_result")
    if cache:
        _mark_cache(system, turns)
    return AnthropicRequest(system=system, messages=turns)


def _mark_cache(system: list[JsonDict], turns: list[JsonDict]) -> None:
    if system:
        system[-1]["cache_control"] = dict(CACHE_CONTROL)
    if turns:
        turns[-1]["content"][-1]["cache_control"] = dict(CACHE_CONTROL)


def to_anthropic_tools(specs: Sequence[ToolSpec], *, cache: bool = True) -> list[JsonDict]:
    """Tool specs as Anthropic tools; the last one carries the cache breakpoint."""
    tools: list[JsonDict] = [
        {"name": s.name, "description": s.description, "input_schema": dict(s.parameters)} for s in specs
    ]
    if cache and tools:
        tools[-1]["cache_control"] = dict(CACHE_CONTROL)
    return tools
