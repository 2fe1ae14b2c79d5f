"""Anthropic wire translation: system field, user-side summaries, merged tool results, cache markers."""

from __future__ import annotations

from kwaak.llm.anthropic_wire import to_anthropic, to_anthropic_tools, tool_input
from kwaak.messages import AssistantMessage, SystemMessage, ToolCall, ToolResult, ToolSpec, UserMessage
from tests.fakes.provider_validation import validate_anthropic
from tests.llm.helpers import full_history

EPHEMERAL = {"type": "ephemeral"}


def test_every_message_kind_translates_and_passes_validation() -> None:
    wire = to_anthropic(full_history())
    assert wire.system == [{"type": "text", "text": "You are a coding agent.", "cache_control": EPHEMERAL}]
    assert wire.messages == [
        {"role": "user", "content": [{"type": "text", "text": "Fix the bug in calc.py"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "call_a", "name": "read_file", "input": {"file_name": "calc.py"}},
                {"type": "tool_use", "id": "call_b", "name": "search_file", "input": {"query": "add"}},
            ],
        },
        # both tool results and the summary (a user turn for Anthropic) merge into one user turn
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_a", "content": "def add(a, b): return a - b"},
                {"type": "tool_result", "tool_use_id": "call_b", "content": "no such tool", "is_error": True},
                {"type": "text", "text": "# Summary\nYou read calc.py."},
            ],
        },
        {"role": "assistant", "content": [{"type": "tool_use", "id": "call_c", "name": "write_file", "input": {}}]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_c", "content": "ok"},
                {"type": "text", "text": "Remember the constraints."},
                {"type": "text", "text": "continue", "cache_control": EPHEMERAL},
            ],
        },
    ]
    assert validate_anthropic({"max_tokens": 10, "messages": wire.messages}) is None


def test_tool_results_come_before_text_in_a_user_turn() -> None:
    history = [
        UserMessage(content="go"),
        AssistantMessage(tool_calls=(ToolCall(id="t1", name="x"),)),
        UserMessage(content="interrupted"),
        ToolResult(call_id="t1", name="x", content="late"),
    ]
    wire = to_anthropic(history, cache=False)
    assert [b["type"] for b in wire.messages[-1]["content"]] == ["tool_result", "text"]
    assert validate_anthropic({"max_tokens": 10, "messages": wire.messages}) is None


def test_empty_text_is_dropped_and_empty_results_get_placeholder() -> None:
    history = [
        UserMessage(content="hi"),
        AssistantMessage(content="  ", tool_calls=(ToolCall(id="t", name="x"),)),
        ToolResult(call_id="t", name="x", content=""),
    ]
    wire = to_anthropic(history, cache=False)
    assert wire.system == []
    assert wire.messages[1]["content"] == [{"type": "tool_use", "id": "t", "name": "x", "input": {}}]
    assert wire.messages[2]["content"] == [{"type": "tool_result", "tool_use_id": "t", "content": "(no output)"}]


def test_multiple_leading_system_messages_form_the_system_field() -> None:
    wire = to_anthropic([SystemMessage(content="a"), SystemMessage(content="b"), UserMessage(content="u")])
    assert wire.system == [{"type": "text", "text": "a"}, {"type": "text", "text": "b", "cache_control": EPHEMERAL}]


def test_invalid_tool_arguments_are_kept_as_raw() -> None:
    assert tool_input('{"a": 1}') == {"a": 1}
    assert tool_input("{broken") == {"_raw": "{broken"}
    assert tool_input("[1, 2]") == {"_raw": "[1, 2]"}
    assert tool_input("") == {}


def test_last_tool_carries_the_cache_breakpoint() -> None:
    specs = [ToolSpec(name="a", description="A"), ToolSpec(name="b", description="B")]
    tools = to_anthropic_tools(specs)
    assert "cache_control" not in tools[0]
    assert tools[1] == {
        "name": "b",
        "description": "B",
        "input_schema": {"type": "object", "properties": {}},
        "cache_control": EPHEMERAL,
    }
    assert to_anthropic_tools([]) == []


def test_validator_catches_unanswered_tool_use() -> None:
    messages = [
        {"role": "user", "content": "x"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "a", "input": {}}]},
        {"role": "user", "content": "no result"},
    ]
    problem = validate_anthropic({"max_tokens": 5, "messages": messages})
    assert problem is not None and "t1" in problem and "tool_result" in problem


def test_max_output_tokens_per_model() -> None:
    from kwaak.llm.context import default_max_output

    assert default_max_output("claude-3-5-haiku-latest", 200_000) == 8192
    assert default_max_output("claude-3-haiku-20240307", 200_000) == 4096
    assert default_max_output("claude-sonnet-4-20250514", 200_000) == 16384
