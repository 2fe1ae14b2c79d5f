"""McpToolset against our fake server over stdio: listing, filters, calls, failures, cleanup."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from kwaak.config.model import McpServerConfig
from kwaak.errors import McpError
from kwaak.mcp import McpToolset
from kwaak.messages import ToolCall
from kwaak.tools.base import Tool, ToolContext, ToolError, ToolRegistry
from tests.mcp.conftest import fake_stdio


def by_name(tools: list[Tool]) -> dict[str, Tool]:
    return {tool.name: tool for tool in tools}


def child_pids() -> set[int]:
    """Our direct child processes (running or zombie), from every thread's ``children`` list."""
    pids: set[int] = set()
    for children in Path("/proc/self/task").glob("*/children"):
        pids.update(int(pid) for pid in children.read_text().split())
    return pids


async def test_lists_all_pages_and_calls_with_arguments(tool_ctx: ToolContext) -> None:
    server = fake_stdio("fake", "--fillers", "7", "--page-size", "3")
    async with McpToolset([server]) as toolset:
        tools = by_name(toolset.tools())
        assert {"echo", "add", "fail", "crash", "slow", "env", "image"} <= set(tools)
        assert {f"filler_{i}" for i in range(7)} <= set(tools)
        assert await tools["add"].handler(tool_ctx, {"a": 2, "b": 40}) == "42"
        assert await tools["echo"].handler(tool_ctx, {"message": "hi there"}) == "Echo: hi there"
    assert toolset.errors == {}


async def test_tool_metadata_keeps_the_servers_schema(tool_ctx: ToolContext) -> None:
    async with McpToolset([fake_stdio("fake")]) as toolset:
        add = by_name(toolset.tools())["add"]
    assert add.source == "mcp:fake"
    assert add.mutating is True
    assert add.description == "Adds two integers"
    assert add.parameters["properties"] == {"a": {"type": "integer"}, "b": {"type": "integer"}}
    assert add.parameters["required"] == ["a", "b"]


async def test_whitelist_and_blacklist() -> None:
    warnings: list[str] = []
    white = fake_stdio("white", filter={"type": "whitelist", "tool_names": ["echo", "add", "nope"]})
    black = fake_stdio("black", filter={"type": "blacklist", "tool_names": ["crash", "fail"]})
    async with McpToolset([white, black], on_warning=warnings.append) as toolset:
        grouped = toolset.tools_by_server()
    assert sorted(t.name for t in grouped["white"]) == ["add", "echo"]
    black_names = {t.name for t in grouped["black"]}
    assert "crash" not in black_names and "fail" not in black_names and "echo" in black_names
    assert warnings == ["MCP server `white` has no tool(s) named nope (whitelist)"]


async def test_is_error_result_becomes_tool_error_with_kwaak_prefix(tool_ctx: ToolContext) -> None:
    async with McpToolset([fake_stdio("fake")]) as toolset:
        fail = by_name(toolset.tools())["fail"]
        with pytest.raises(ToolError, match=r"^Failed to execute mcp tool: this tool always fails$"):
            await fail.handler(tool_ctx, {})


async def test_registry_invoke_shows_the_error_to_the_model(tool_ctx: ToolContext) -> None:
    async with McpToolset([fake_stdio("fake")]) as toolset:
        registry = ToolRegistry(toolset.tools())
        ok = await registry.invoke(ToolCall(id="1", name="add", arguments='{"a": 1, "b": 2}'), tool_ctx)
        bad = await registry.invoke(ToolCall(id="2", name="fail", arguments="{}"), tool_ctx)
        missing = await registry.invoke(ToolCall(id="3", name="add", arguments='{"a": 1}'), tool_ctx)
    assert (ok.content, ok.is_error) == ("3", False)
    assert bad.is_error and bad.content == "Failed to execute mcp tool: this tool always fails"
    assert missing.is_error and "b" in missing.content


async def test_non_text_parts_are_summarized(tool_ctx: ToolContext) -> None:
    async with McpToolset([fake_stdio("fake")]) as toolset:
        image = by_name(toolset.tools())["image"]
        assert await image.handler(tool_ctx, {}) == "here is an image\n[image: image/png]"


async def test_protocol_error_from_server_is_a_tool_error(tool_ctx: ToolContext) -> None:
    async with McpToolset([fake_stdio("fake")]) as toolset:
        add = by_name(toolset.tools())["add"]
        with pytest.raises(ToolError, match="Failed to execute mcp tool"):
            await add.handler(tool_ctx, {"a": "not a number", "b": 1})


async def test_crash_mid_session_warns_once_and_fails_fast(tool_ctx: ToolContext) -> None:
    warnings: list[str] = []
    async with McpToolset([fake_stdio("fake")], on_warning=warnings.append) as toolset:
        tools = by_name(toolset.tools())
        with pytest.raises(ToolError, match="Failed to execute mcp tool: MCP server `fake` is no longer running"):
            await tools["crash"].handler(tool_ctx, {})
        started = time.monotonic()
        for _ in range(3):
            with pytest.raises(ToolError, match="no longer running"):
                await tools["echo"].handler(tool_ctx, {"message": "still there?"})
        assert time.monotonic() - started < 1
    assert len(warnings) == 1
    assert "`fake`" in warnings[0] and "unavailable for the rest of this session" in warnings[0]


async def test_slow_call_times_out_as_a_tool_error(tool_ctx: ToolContext) -> None:
    # The entry's timeout_sec bounds each call (tool_ctx's limits.tool_timeout_sec = 3 does not apply).
    async with McpToolset([fake_stdio("fake", timeout_sec=2)]) as toolset:
        tools = by_name(toolset.tools())
        assert await tools["slow"].handler(tool_ctx, {"seconds": 0.1}) == "slept 0.1"
        with pytest.raises(ToolError, match="did not answer within 2s"):
            await tools["slow"].handler(tool_ctx, {"seconds": 30})
        # the connection is still usable afterwards
        assert await tools["echo"].handler(tool_ctx, {"message": "after"}) == "Echo: after"


async def test_bad_command_warns_and_continues_without_its_tools(tool_ctx: ToolContext) -> None:
    warnings: list[str] = []
    servers = [McpServerConfig(name="ghost", command="/nonexistent/kwaak-mcp-server"), fake_stdio("fake")]
    async with McpToolset(servers, on_warning=warnings.append) as toolset:
        assert {t.source for t in toolset.tools()} == {"mcp:fake"}
        assert await by_name(toolset.tools())["echo"].handler(tool_ctx, {"message": "x"}) == "Echo: x"
    assert list(toolset.errors) == ["ghost"]
    error = toolset.errors["ghost"]
    assert isinstance(error, McpError)
    assert "could not be started" in error.message and error.hint and "PATH" in error.hint
    assert len(warnings) == 1 and "Continuing without the tools of `ghost`" in warnings[0]


async def test_server_exiting_at_start_reports_its_stderr() -> None:
    warnings: list[str] = []
    async with McpToolset([fake_stdio("quitter", "--exit-at-start")], on_warning=warnings.append) as toolset:
        assert toolset.tools() == []
    error = toolset.errors["quitter"]
    assert "exited during startup" in error.message
    assert "fake mcp server: refusing to start" in error.message
    assert len(warnings) == 1


async def test_init_timeout_uses_timeout_sec() -> None:
    warnings: list[str] = []
    started = time.monotonic()
    server = fake_stdio("sleepy", "--init-delay", "30", timeout_sec=1)
    async with McpToolset([server], on_warning=warnings.append) as toolset:
        assert toolset.tools() == []
    assert time.monotonic() - started < 10
    assert "did not answer within 1s" in toolset.errors["sleepy"].message
    assert "timeout_sec" in (toolset.errors["sleepy"].hint or "")
    assert len(warnings) == 1


async def test_env_secrets_reach_the_server_but_kwaak_secrets_do_not(
    tool_ctx: ToolContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KWAAK_TEST_MCP_TOKEN", "s3cret-value")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-leak")
    server = fake_stdio("fake", env={"SERVER_TOKEN": "env:KWAAK_TEST_MCP_TOKEN", "PLAIN": "text:literal"})
    async with McpToolset([server]) as toolset:
        env = by_name(toolset.tools())["env"]
        assert await env.handler(tool_ctx, {"name": "SERVER_TOKEN"}) == "s3cret-value"
        assert await env.handler(tool_ctx, {"name": "PLAIN"}) == "literal"
        assert await env.handler(tool_ctx, {"name": "OPENAI_API_KEY"}) == "<unset>"


async def test_cwd_is_the_given_workspace(tool_ctx: ToolContext, tmp_path: Path) -> None:
    workdir = tmp_path / "agent-worktree"
    workdir.mkdir()
    async with McpToolset([fake_stdio("fake")], cwd=workdir) as toolset:
        cwd = by_name(toolset.tools())["cwd"]
        assert Path(await cwd.handler(tool_ctx, {})).resolve() == workdir.resolve()


async def test_servers_are_stopped_and_reaped_on_exit(tool_ctx: ToolContext) -> None:
    async with McpToolset([fake_stdio("a"), fake_stdio("b")]) as toolset:
        pids = [int(await t.handler(tool_ctx, {})) for t in toolset.tools() if t.name == "pid"]
        assert len(pids) == 2 and set(pids) <= child_pids()
    assert not set(pids) & child_pids()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


async def test_cancelled_while_starting_leaves_no_process() -> None:
    before = child_pids()
    server = fake_stdio("sleepy", "--init-delay", "30")
    toolset = McpToolset([server])
    task = asyncio.create_task(toolset.__aenter__())
    await asyncio.sleep(0.5)
    assert child_pids() - before, "the server process should be running by now"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert child_pids() - before == set()


async def test_concurrent_calls_share_one_connection(tool_ctx: ToolContext) -> None:
    async with McpToolset([fake_stdio("fake")]) as toolset:
        tools = by_name(toolset.tools())
        started = time.monotonic()
        results = await asyncio.gather(*(tools["slow"].handler(tool_ctx, {"seconds": 0.5}) for _ in range(4)))
        assert results == ["slept 0.5"] * 4
        assert time.monotonic() - started < 1.8


async def test_no_servers_is_a_no_op() -> None:
    async with McpToolset([]) as toolset:
        assert toolset.tools() == []
    assert toolset.errors == {}


async def test_calls_after_exit_fail_without_a_crash_warning(tool_ctx: ToolContext) -> None:
    warnings: list[str] = []
    async with McpToolset([fake_stdio("fake")], on_warning=warnings.append) as toolset:
        echo = by_name(toolset.tools())["echo"]
    with pytest.raises(ToolError, match="was shut down with its session"):
        await echo.handler(tool_ctx, {"message": "late"})
    assert warnings == []
