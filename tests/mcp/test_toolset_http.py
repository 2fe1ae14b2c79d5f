"""McpToolset against our fake server over streamable HTTP on 127.0.0.1."""

from __future__ import annotations

import time

import pytest

from kwaak.config.model import McpServerConfig
from kwaak.mcp import McpToolset
from kwaak.tools.base import ToolContext, ToolError
from tests.mcp.conftest import HttpServer, free_port


async def test_lists_and_calls_over_http(http_server: HttpServer, tool_ctx: ToolContext) -> None:
    server = McpServerConfig(name="web", url=http_server.url)
    async with McpToolset([server]) as toolset:
        tools = {t.name: t for t in toolset.tools()}
        assert tools["add"].source == "mcp:web"
        assert await tools["add"].handler(tool_ctx, {"a": 20, "b": 22}) == "42"
        with pytest.raises(ToolError, match="^Failed to execute mcp tool: this tool always fails$"):
            await tools["fail"].handler(tool_ctx, {})


async def test_header_secrets_are_sent(
    http_server: HttpServer, tool_ctx: ToolContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KWAAK_TEST_MCP_BEARER", "Bearer abc123")
    server = McpServerConfig.model_validate(
        {"name": "web", "url": http_server.url, "headers": {"Authorization": "env:KWAAK_TEST_MCP_BEARER"}}
    )
    assert "abc123" not in repr(server)
    async with McpToolset([server]) as toolset:
        header = next(t for t in toolset.tools() if t.name == "header")
        assert await header.handler(tool_ctx, {"name": "authorization"}) == "Bearer abc123"


async def test_paging_over_http(tool_ctx: ToolContext) -> None:
    server_proc = HttpServer("--fillers", "5", "--page-size", "2")
    try:
        async with McpToolset([McpServerConfig(name="web", url=server_proc.url)]) as toolset:
            names = {t.name for t in toolset.tools()}
    finally:
        server_proc.stop()
    assert {f"filler_{i}" for i in range(5)} <= names and "echo" in names


async def test_unreachable_url_warns_and_continues() -> None:
    warnings: list[str] = []
    server = McpServerConfig(name="down", url=f"http://127.0.0.1:{free_port()}/mcp", timeout_sec=5)
    started = time.monotonic()
    async with McpToolset([server], on_warning=warnings.append) as toolset:
        assert toolset.tools() == []
    assert time.monotonic() - started < 5
    error = toolset.errors["down"]
    assert "failed to start" in error.message and "ConnectError" in error.message
    assert error.hint and "url" in error.hint
    assert len(warnings) == 1


async def test_server_killed_mid_session_gives_tool_errors(http_server: HttpServer, tool_ctx: ToolContext) -> None:
    warnings: list[str] = []
    async with McpToolset([McpServerConfig(name="web", url=http_server.url)], on_warning=warnings.append) as toolset:
        echo = next(t for t in toolset.tools() if t.name == "echo")
        assert await echo.handler(tool_ctx, {"message": "one"}) == "Echo: one"
        http_server.stop()
        started = time.monotonic()
        for _ in range(2):
            with pytest.raises(ToolError, match="Failed to execute mcp tool: MCP server `web` is no longer running"):
                await echo.handler(tool_ctx, {"message": "two"})
        assert time.monotonic() - started < 2.5
    assert len(warnings) == 1 and "`web`" in warnings[0]
