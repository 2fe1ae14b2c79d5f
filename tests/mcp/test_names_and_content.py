"""The clash rule of merge_tools, name sanitizing, schema normalizing and result rendering."""

from __future__ import annotations

from typing import Any

import mcp_types as types

from kwaak.config.model import McpFilter
from kwaak.mcp import merge_tools, safe_tool_name
from kwaak.mcp.connection import McpToolInfo
from kwaak.mcp.content import render_result
from kwaak.mcp.names import prefixed_name
from kwaak.mcp.toolset import apply_filter, normalize_schema
from kwaak.tools.base import Tool, ToolContext


async def _handler(ctx: ToolContext, args: dict[str, Any]) -> str:
    return "ok"


def tool(name: str, source: str = "builtin") -> Tool:
    return Tool(name=name, description=f"{name} from {source}", handler=_handler, source=source)


def names(tools: list[Tool]) -> list[str]:
    return [t.name for t in tools]


def test_no_clash_keeps_names_and_order() -> None:
    merged = merge_tools([tool("shell_command"), tool("read_file")], [tool("echo", "mcp:a"), tool("add", "mcp:b")])
    assert names(merged) == ["shell_command", "read_file", "echo", "add"]


def test_clash_with_builtin_prefixes_the_mcp_tool() -> None:
    mcp_tool = tool("read_file", "mcp:fs")
    merged = merge_tools([tool("read_file")], [mcp_tool, tool("other", "mcp:fs")])
    assert names(merged) == ["read_file", "fs__read_file", "other"]
    assert merged[0].source == "builtin"
    assert merged[1].handler is mcp_tool.handler and merged[1].source == "mcp:fs"


def test_clash_between_servers_prefixes_both_regardless_of_order() -> None:
    a, b = tool("echo", "mcp:alpha"), tool("echo", "mcp:beta")
    assert names(merge_tools([], [a, b])) == ["alpha__echo", "beta__echo"]
    assert names(merge_tools([], [b, a])) == ["beta__echo", "alpha__echo"]


def test_same_server_name_twice_gets_numeric_suffixes() -> None:
    merged = merge_tools([], [tool("echo", "mcp:dup"), tool("echo", "mcp:dup"), tool("echo", "mcp:other")])
    assert names(merged) == ["dup__echo", "dup__echo_2", "other__echo"]
    assert len(set(names(merged))) == 3


def test_prefixed_name_is_safe_and_short() -> None:
    name = prefixed_name("my server.v2", "a" * 70)
    assert len(name) <= 64 and name.endswith("a" * 10)
    assert prefixed_name("my server.v2", "echo") == "my_server_v2__echo"
    assert safe_tool_name("files/read.v1") == "files_read_v1"
    assert safe_tool_name("...") == "tool"


def test_filters() -> None:
    listed = [McpToolInfo(name=n, description="", input_schema={}) for n in ("a", "b", "c")]
    assert [t.name for t in apply_filter(listed, None)] == ["a", "b", "c"]
    white = McpFilter(type="whitelist", tool_names=("c", "a"))
    assert [t.name for t in apply_filter(listed, white)] == ["a", "c"]
    black = McpFilter(type="blacklist", tool_names=("b",))
    assert [t.name for t in apply_filter(listed, black)] == ["a", "c"]


def test_normalize_schema_passes_the_schema_through() -> None:
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {"n": {"type": "number", "minimum": 1}, "tags": {"type": "array", "items": {"type": "string"}}},
        "required": ["n"],
    }
    assert normalize_schema(schema) == {k: v for k, v in schema.items() if k != "$schema"}
    assert normalize_schema({}) == {"type": "object", "properties": {}}


def test_render_result_joins_text_and_summarizes_other_parts() -> None:
    result = types.CallToolResult(
        content=[
            types.TextContent(type="text", text="first"),
            types.ImageContent(type="image", data="AAAA", mime_type="image/png"),
            types.AudioContent(type="audio", data="AAAA", mime_type="audio/wav"),
            types.ResourceLink(type="resource_link", name="readme", uri="file:///README.md"),
            types.EmbeddedResource(
                type="resource", resource=types.TextResourceContents(uri="file:///a.txt", text="embedded text")
            ),
            types.EmbeddedResource(
                type="resource",
                resource=types.BlobResourceContents(uri="file:///b.bin", blob="AAAA", mime_type="application/zip"),
            ),
            types.TextContent(type="text", text="last"),
        ]
    )
    assert render_result(result).splitlines() == [
        "first",
        "[image: image/png]",
        "[audio: audio/wav]",
        "[resource link: readme file:///README.md]",
        "embedded text",
        "[resource: file:///b.bin (application/zip)]",
        "last",
    ]


def test_render_result_falls_back_to_structured_content() -> None:
    result = types.CallToolResult(content=[], structured_content={"sum": 3})
    assert render_result(result) == '{"sum": 3}'
