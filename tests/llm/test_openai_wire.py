"""OpenAI wire translation: every message kind, strict tool schemas, null stripping, stream assembly."""

from __future__ import annotations

import json

from kwaak.llm.openai_wire import (
    ToolCallAssembler,
    clean_arguments,
    strict_parameters,
    to_openai_messages,
    to_openai_tools,
)
from kwaak.messages import AssistantMessage, ToolSpec
from tests.fakes.provider_validation import validate_openai
from tests.llm.helpers import full_history


def test_every_message_kind_translates_and_passes_validation() -> None:
    wire = to_openai_messages(full_history())
    assert wire == [
        {"role": "system", "content": "You are a coding agent."},
        {"role": "user", "content": "Fix the bug in calc.py"},
        {
            "role": "assistant",
            "content": "Let me look.",
            "tool_calls": [
                {
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "read_file", "arguments": '{"file_name": "calc.py"}'},
                },
                {
                    "id": "call_b",
                    "type": "function",
                    "function": {"name": "search_file", "arguments": '{"query": "add"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_a", "content": "def add(a, b): return a - b"},
        {"role": "tool", "tool_call_id": "call_b", "content": "no such tool"},
        {"role": "assistant", "content": "# Summary\nYou read calc.py."},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_c", "type": "function", "function": {"name": "write_file", "arguments": "{}"}},
            ],
        },
        {"role": "tool", "tool_call_id": "call_c", "content": "ok"},
        {"role": "system", "content": "Remember the constraints."},
        {"role": "user", "content": "continue"},
    ]
    assert validate_openai({"messages": wire}) is None


def test_empty_assistant_message_gets_empty_string_content() -> None:
    assert to_openai_messages([AssistantMessage()]) == [{"role": "assistant", "content": ""}]


def test_strict_schema_requires_everything_and_nulls_optionals() -> None:
    schema = {
        "type": "object",
        "title": "Args",
        "properties": {
            "path": {"type": "string", "title": "Path"},
            "start": {"type": "integer", "default": 1},
            "mode": {"enum": ["a", "b"], "type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["path", "tags"],
    }
    converted = strict_parameters(schema)
    assert converted is not None
    strict, optional = converted
    assert optional == frozenset({"start", "mode"})
    assert strict == {
        "type": "object",
        "properties": {
            "path": {"type": "string"},
            "start": {"type": ["integer", "null"]},
            "mode": {"enum": ["a", "b", None], "type": ["string", "null"]},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["path", "start", "mode", "tags"],
        "additionalProperties": False,
    }
    assert schema["required"] == ["path", "tags"], "the input schema must not be mutated"


def test_schemas_that_cannot_be_strict_are_sent_as_is() -> None:
    free_dict = {
        "type": "object",
        "properties": {"env": {"type": "object", "additionalProperties": {"type": "string"}}},
    }
    one_of = {
        "type": "object",
        "properties": {"x": {"oneOf": [{"type": "string"}, {"type": "integer"}]}},
        "required": ["x"],
    }
    nested_optional = {
        "type": "object",
        "properties": {"o": {"type": "object", "properties": {"k": {"type": "string"}}}},
        "required": ["o"],
    }
    any_value = {"type": "object", "properties": {"v": {}}, "required": ["v"]}
    for schema in (free_dict, one_of, nested_optional, any_value):
        assert strict_parameters(schema) is None
        tools = to_openai_tools([ToolSpec(name="t", description="d", parameters=schema)])
        assert tools.tools == [
            {"type": "function", "function": {"name": "t", "description": "d", "parameters": schema}}
        ]
        assert validate_openai({"messages": [{"role": "user", "content": "x"}], "tools": tools.tools}) is None


def test_refs_and_defs_are_strictified() -> None:
    schema = {
        "type": "object",
        "properties": {"item": {"$ref": "#/$defs/Item"}, "other": {"$ref": "#/$defs/Item"}},
        "required": ["item"],
        "$defs": {"Item": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}},
    }
    converted = strict_parameters(schema)
    assert converted is not None
    strict, optional = converted
    assert optional == {"other"}
    assert strict["properties"]["other"] == {"anyOf": [{"$ref": "#/$defs/Item"}, {"type": "null"}]}
    assert strict["$defs"]["Item"]["additionalProperties"] is False


def test_kwaak_style_tools_are_strict_and_accepted_by_the_validator() -> None:
    spec = ToolSpec(
        name="read_file",
        description="Read a file",
        parameters={
            "type": "object",
            "properties": {"file_name": {"type": "string", "description": "path"}},
            "required": ["file_name"],
        },
    )
    empty = ToolSpec(name="stop", description="Stop")
    tools = to_openai_tools([spec, empty])
    assert [t["function"]["strict"] for t in tools.tools] == [True, True]
    assert tools.tools[1]["function"]["parameters"] == {
        "type": "object",
        "properties": {},
        "required": [],
        "additionalProperties": False,
    }
    assert validate_openai({"messages": [{"role": "user", "content": "x"}], "tools": tools.tools}) is None


def test_validator_rejects_lax_strict_schemas() -> None:
    lax = {
        "type": "function",
        "function": {
            "name": "f",
            "strict": True,
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "string"}},
                "required": [],
                "additionalProperties": False,
            },
        },
    }
    problem = validate_openai({"messages": [{"role": "user", "content": "x"}], "tools": [lax]})
    assert problem is not None and "Missing 'a'" in problem


def test_clean_arguments_drops_only_optional_nulls() -> None:
    raw = json.dumps({"path": "a", "start": None, "end": None})
    assert json.loads(clean_arguments(raw, frozenset({"start"}))) == {"path": "a", "end": None}
    assert clean_arguments(raw, None) == raw
    assert clean_arguments("not json", frozenset({"start"})) == "not json"
    assert clean_arguments("", None) == "{}"


def test_assembler_joins_fragments_in_index_order() -> None:
    asm = ToolCallAssembler()
    asm.add(1, call_id="call_2", name="b", arguments="")
    asm.add(0, call_id="call_1", name="a", arguments='{"x"')
    asm.add(0, call_id=None, name=None, arguments=': 1, "o": null}')
    asm.add(1, call_id=None, name=None, arguments="{}")
    calls = asm.calls({"a": frozenset({"o"})})
    assert [(c.id, c.name, json.loads(c.arguments)) for c in calls] == [("call_1", "a", {"x": 1}), ("call_2", "b", {})]
