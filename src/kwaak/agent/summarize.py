"""Summarizers: reformat test/coverage output, and compact the conversation every N completions."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence

from kwaak.agent.prompts import render
from kwaak.llm.base import Model
from kwaak.messages import (
    AssistantMessage,
    Message,
    SummaryMessage,
    SystemMessage,
    ToolCall,
    ToolResult,
    Usage,
    UserMessage,
)
from kwaak.tools.base import Tool

SUMMARIZED_TOOLS = frozenset({"run_tests", "run_coverage"})
RESUME_AFTER_SUMMARY = "Continue working towards the goal, using the summary above."


def tool_lines(tools: Sequence[Tool]) -> list[tuple[str, str]]:
    """``(name, first line of description)`` for prompt tool lists."""
    return [(t.name, (t.description.strip().splitlines() or [""])[0]) for t in tools]


async def summarize_tool_output(
    model: Model, *, tool: Tool, call: ToolCall, result: ToolResult, diff: str, tools: Sequence[Tool]
) -> ToolResult:
    """Ask the indexing model to reformat a successful test/coverage output (kwaak §4.7)."""
    prompt = render(
        "tool_summarizer",
        tool_name=tool.name,
        tool_description=tool.description,
        tool_args=call.arguments or "No arguments",
        is_test_tool=tool.name in SUMMARIZED_TOOLS,
        diff=diff,
        output=result.content,
        tools=tool_lines(tools),
    )
    reformatted = (await model.prompt(prompt)).strip()
    if not reformatted:
        return result
    return dataclasses.replace(result, content=reformatted)


def summary_input(history: Sequence[Message]) -> list[Message]:
    """Messages since the last summary, without system messages, tool calls flattened to text.

    Flattening keeps the summary request valid for providers that check tool-call pairing.
    """
    last = max((i for i, m in enumerate(history) if isinstance(m, SummaryMessage)), default=0)
    out: list[Message] = []
    for message in history[last:]:
        if isinstance(message, SystemMessage):
            continue
        if isinstance(message, ToolResult):
            args = _arguments_of(history, message.call_id)
            text = (
                f"I ran a tool called: {message.name} with the following arguments: {args or 'No arguments'}\n"
                f" The tool returned:\n{message.content or 'No output'}"
            )
            out.append(AssistantMessage(content=text))
        elif isinstance(message, AssistantMessage):
            if message.content:
                out.append(AssistantMessage(content=message.content))
        else:
            out.append(message)
    return out


def _arguments_of(history: Sequence[Message], call_id: str) -> str:
    for message in reversed(history):
        if isinstance(message, AssistantMessage):
            for call in message.tool_calls:
                if call.id == call_id:
                    return "" if call.arguments.strip() in ("", "{}") else call.arguments
    return ""


async def summarize_conversation(
    model: Model, *, history: Sequence[Message], goal: str, diff: str, tools: Sequence[Tool]
) -> tuple[list[Message], Usage]:
    """Produce the messages to append (a :class:`SummaryMessage` with the original goal, and a nudge)."""
    prompt = render("conversation_summary", diff=diff, tools=tool_lines(tools))
    request = [*summary_input(history), UserMessage(content=prompt)]
    response = await model.complete(request)
    summary = (response.message.content or "").strip()
    content = f"# Original Goal for Reference: \n```\n{goal}\n```\n\n{summary}"
    return [SummaryMessage(content=content), UserMessage(content=RESUME_AFTER_SUMMARY)], response.usage


def describe_arguments(arguments: str) -> str:
    """Pretty JSON arguments for prompts (raw text when not JSON)."""
    try:
        return json.dumps(json.loads(arguments), ensure_ascii=False)
    except json.JSONDecodeError:
        return arguments
