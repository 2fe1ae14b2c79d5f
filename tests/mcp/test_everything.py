"""McpToolset against the reference server @modelcontextprotocol/server-everything (npm, over stdio).

Install it with ``.ci/setup-mcp.sh``; the tests skip loudly when it is missing.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kwaak.config.model import McpServerConfig
from kwaak.mcp import McpToolset, merge_tools
from kwaak.tools.base import Tool, ToolContext

Everything = Callable[..., McpServerConfig]


async def _handler(ctx: ToolContext, args: dict[str, object]) -> str:
    return "builtin"


async def test_lists_and_calls_echo_and_get_sum(everything: Everything, tool_ctx: ToolContext) -> None:
    async with McpToolset([everything()]) as toolset:
        tools = {t.name: t for t in toolset.tools()}
        assert {"echo", "get-sum", "get-env", "get-tiny-image"} <= set(tools)
        assert tools["echo"].parameters["required"] == ["message"]
        assert "$schema" not in tools["echo"].parameters
        assert await tools["echo"].handler(tool_ctx, {"message": "hello"}) == "Echo: hello"
        assert "is 5" in await tools["get-sum"].handler(tool_ctx, {"a": 2, "b": 3})
        image = await tools["get-tiny-image"].handler(tool_ctx, {})
        assert "[image: image/png]" in image


async def test_whitelist_and_env_secret(
    everything: Everything, tool_ctx: ToolContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KWAAK_TEST_EVERYTHING_SECRET", "from-the-keyring")
    server = everything(
        filter={"type": "whitelist", "tool_names": ["get-env", "echo"]},
        env={"MY_SERVER_KEY": "env:KWAAK_TEST_EVERYTHING_SECRET"},
    )
    async with McpToolset([server]) as toolset:
        tools = {t.name: t for t in toolset.tools()}
        assert set(tools) == {"get-env", "echo"}
        env_dump = await tools["get-env"].handler(tool_ctx, {})
    assert "MY_SERVER_KEY" in env_dump and "from-the-keyring" in env_dump


async def test_blacklist_and_name_clash_with_builtin(everything: Everything) -> None:
    server = everything(filter={"type": "blacklist", "tool_names": ["get-sum"]})
    async with McpToolset([server]) as toolset:
        mcp_tools = toolset.tools()
    assert "get-sum" not in {t.name for t in mcp_tools}
    builtin = [Tool(name="echo", description="built-in echo", handler=_handler)]
    merged = {t.name: t for t in merge_tools(builtin, mcp_tools)}
    assert merged["echo"].source == "builtin"
    assert merged["everything__echo"].source == "mcp:everything"
