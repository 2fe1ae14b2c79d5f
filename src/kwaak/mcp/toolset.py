"""``McpToolset``: the tools of the configured ``[[mcp]]`` servers, for one agent session.

Usage::

    async with McpToolset(config.mcp or (), on_warning=sink_warning, cwd=workspace.path) as mcp:
        registry = ToolRegistry(merge_tools(builtin, mcp.tools()))
        ...

All servers start concurrently. A server that cannot start (bad command, exits at once, no answer
to ``initialize``/``tools/list`` within its ``timeout_sec``) produces one message through
``on_warning`` (and an entry in :attr:`McpToolset.errors`); the session continues without its
tools. A server that dies mid-session produces one warning, and every call to it returns a
``ToolError`` the model reads ("Failed to execute mcp tool: ..."), never a hang.

**One toolset per agent session** (kwaak's behaviour). Sharing one toolset between sessions is
safe at the protocol level — the client multiplexes concurrent calls from different tasks — but
many servers keep state (a browser page, a working directory, a git checkout), which agents would
then share. Pass ``cwd`` (the agent's worktree) so servers that work on "the current directory"
act on the agent's copy, not the user's checkout.

The ``mcp`` SDK (~1 s to import) is imported only when a toolset is entered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from kwaak.errors import McpError
from kwaak.mcp.connection import McpConnection, McpConnectionLost, McpToolInfo, import_sdk
from kwaak.mcp.content import render_result
from kwaak.mcp.names import safe_tool_name
from kwaak.tools.base import Tool, ToolContext, ToolError

if TYPE_CHECKING:
    from kwaak.config.model import McpFilter, McpServerConfig

log = logging.getLogger(__name__)

ERROR_PREFIX = "Failed to execute mcp tool: "


class McpToolset:
    """Starts MCP servers, lists their tools, and shuts them down (an async context manager)."""

    def __init__(
        self,
        servers: Sequence[McpServerConfig],
        *,
        on_warning: Callable[[str], None] | None = None,
        cwd: Path | None = None,
    ) -> None:
        """Prepare (but do not start) the servers.

        Args:
            servers: The ``[[mcp]]`` entries (``Config.mcp``).
            on_warning: Receives one human-readable message per failed or crashed server;
                defaults to the log.
            cwd: Working directory of stdio servers (the agent's worktree); defaults to ours.
        """
        self._servers = tuple(servers)
        self._on_warning = on_warning
        self._cwd = cwd
        self._connections: list[McpConnection] = []
        self._tools: list[Tool] = []
        self.errors: dict[str, McpError] = {}
        """Servers that failed to start, by name."""

    async def __aenter__(self) -> McpToolset:
        if self._servers:
            await asyncio.to_thread(import_sdk)
        self._connections = [McpConnection(server, cwd=self._cwd) for server in self._servers]
        try:
            results = await asyncio.gather(*(conn.start() for conn in self._connections), return_exceptions=True)
        except BaseException:
            await self.aclose()
            raise
        for conn, result in zip(self._connections, results, strict=True):
            if isinstance(result, BaseException):
                error = result if isinstance(result, McpError) else _unexpected(conn, result)
                self.errors[conn.name] = error
                self._warn(f"{error.render()}\nContinuing without the tools of `{conn.name}`.")
                await conn.aclose()
                continue
            self._tools.extend(self._make_tools(conn, result))
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop every server (idempotent)."""
        await asyncio.gather(*(conn.aclose() for conn in self._connections), return_exceptions=True)

    def tools(self) -> list[Tool]:
        """The tools of every server that started, filtered, in server order."""
        return list(self._tools)

    def tools_by_server(self) -> dict[str, list[Tool]]:
        """Tools grouped by server name (servers that failed have no entry)."""
        grouped: dict[str, list[Tool]] = {conn.name: [] for conn in self._connections if conn.name not in self.errors}
        for tool in self._tools:
            grouped.setdefault(tool.source.removeprefix("mcp:"), []).append(tool)
        return grouped

    def _warn(self, message: str) -> None:
        if self._on_warning is not None:
            self._on_warning(message)
        else:
            log.warning("%s", message)

    def _make_tools(self, conn: McpConnection, listed: list[McpToolInfo]) -> list[Tool]:
        kept = apply_filter(listed, conn.config.filter)
        if conn.config.filter is not None and conn.config.filter.type == "whitelist":
            missing = sorted(set(conn.config.filter.tool_names) - {info.name for info in listed})
            if missing:
                self._warn(f"MCP server `{conn.name}` has no tool(s) named {', '.join(missing)} (whitelist)")
        return [self._make_tool(conn, info) for info in kept]

    def _make_tool(self, conn: McpConnection, info: McpToolInfo) -> Tool:
        def lost(exc: McpConnectionLost) -> ToolError:
            if not conn.loss_reported and not conn.closed:
                conn.loss_reported = True
                self._warn(f"{exc}; its tools are unavailable for the rest of this session.")
            return ToolError(f"{ERROR_PREFIX}{exc}")

        async def handler(ctx: ToolContext, args: dict[str, Any]) -> str:
            timeout = conn.config.timeout_sec
            try:
                result = await conn.call(info.name, args, timeout=timeout)
            except McpConnectionLost as exc:
                raise lost(exc) from exc
            except TimeoutError as exc:
                msg = f"{ERROR_PREFIX}`{info.name}` on MCP server `{conn.name}` did not answer within {timeout:g}s"
                raise ToolError(msg) from exc
            except Exception as exc:
                from mcp import MCPError

                if isinstance(exc, MCPError):
                    raise ToolError(f"{ERROR_PREFIX}{exc.message}") from exc
                raise
            text = render_result(result)
            if result.is_error:
                raise ToolError(f"{ERROR_PREFIX}{text}")
            return text

        return Tool(
            name=safe_tool_name(info.name),
            description=info.description or f"Tool `{info.name}` of MCP server `{conn.name}`",
            handler=handler,
            parameters=normalize_schema(info.input_schema),
            mutating=True,
            source=f"mcp:{conn.name}",
        )


def apply_filter(tools: Sequence[McpToolInfo], spec: McpFilter | None) -> list[McpToolInfo]:
    """Keep whitelisted tools, or drop blacklisted ones (by the server's tool names)."""
    if spec is None:
        return list(tools)
    names = set(spec.tool_names)
    if spec.type == "whitelist":
        return [tool for tool in tools if tool.name in names]
    return [tool for tool in tools if tool.name not in names]


def normalize_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The server's input schema as given, minus ``$schema``, always an object with properties."""
    result = {key: value for key, value in schema.items() if key != "$schema"}
    result.setdefault("type", "object")
    if result.get("type") == "object" and not isinstance(result.get("properties"), dict):
        result["properties"] = {}
    return result


def _unexpected(conn: McpConnection, exc: BaseException) -> McpError:
    log.error("MCP server %r failed unexpectedly", conn.name, exc_info=exc)
    return McpError(f"MCP server `{conn.name}` failed to start: {type(exc).__name__}: {exc}")
