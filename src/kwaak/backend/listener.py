"""Turns what happens in the agent loop into protocol events for one session."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kwaak import protocol as p
from kwaak.messages import AssistantMessage, ToolCall, ToolResult, Usage
from kwaak.tools.base import ToolError, ToolRegistry, parse_arguments

PREVIEW_CHARS = 300


@dataclass
class EventListener:
    """A :class:`kwaak.agent.loop.LoopListener` that emits events and counts usage."""

    emit: Callable[[p.EventMsg], None]
    registry: ToolRegistry
    on_usage: Callable[[Usage], None]

    def activity(self, text: str) -> None:
        """Forward an activity line."""
        self.emit(p.Activity(text=text))

    def text_delta(self, message_id: str, text: str) -> None:
        """Forward a streamed fragment."""
        self.emit(p.AssistantDelta(message_id=message_id, text=text))

    def assistant_message(self, message_id: str, message: AssistantMessage) -> None:
        """Forward a complete reply with a readable summary of each tool call."""
        calls = tuple(
            p.ToolCallInfo(call_id=c.id, name=c.name, arguments=c.arguments, summary=self.summary(c))
            for c in message.tool_calls
        )
        self.emit(p.AssistantMessage(message_id=message_id, text=message.content, tool_calls=calls))

    def tool_started(self, call: ToolCall) -> None:
        """Forward a tool start."""
        self.emit(p.ToolCallStarted(call_id=call.id, name=call.name, summary=self.summary(call)))

    def tool_finished(self, call: ToolCall, result: ToolResult) -> None:
        """Forward a tool result with a short preview."""
        preview = result.content.strip()
        if len(preview) > PREVIEW_CHARS:
            preview = preview[:PREVIEW_CHARS] + " ..."
        self.emit(
            p.ToolCallFinished(
                call_id=call.id,
                name=call.name,
                ok=not result.is_error,
                preview=preview,
                output=result.content,
                exit_code=result.exit_code,
                outcome=result.outcome,
            )
        )

    def usage(self, usage: Usage) -> None:
        """Count usage (the session emits UsageUpdated with totals)."""
        self.on_usage(usage)

    def notice(self, level: str, text: str) -> None:
        """A line for the chat (cut replies, compactions)."""
        self.emit(p.SystemMessage(text=text, level="warning" if level == "warning" else "info"))

    def summary(self, call: ToolCall) -> str:
        """kwaak's one-line description of a tool call."""
        tool = self.registry.get(call.name)
        if tool is None:
            return f"calling unknown tool `{call.name}`"
        try:
            args = parse_arguments(tool, call.arguments)
        except ToolError:  # bad arguments still get a line
            args = {}
        return tool.describe(args)
