"""Assemble a session's tools: kwaak's built-ins plus the configured MCP servers' tools."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path

from kwaak.config import Config
from kwaak.tools.base import Tool, ToolRegistry


async def build_tools(
    config: Config,
    *,
    resources: AsyncExitStack,
    warn: Callable[[str], None],
    cwd: Path | None = None,
    has_index: bool = True,
) -> ToolRegistry:
    """Built-in tools for ``config`` and, when configured, MCP tools (servers closed with ``resources``).

    Stdio MCP servers run in ``cwd`` (the agent's worktree), never in the user's checkout.
    """
    from kwaak.tools.catalog import builtin_tools

    tools: list[Tool] = builtin_tools(config, has_workspace=True, has_index=has_index)
    if config.mcp:
        from kwaak.mcp import McpToolset, merge_tools

        toolset = await resources.enter_async_context(McpToolset(config.mcp, on_warning=warn, cwd=cwd))
        tools = merge_tools(tools, toolset.tools())
    return ToolRegistry(tools)
