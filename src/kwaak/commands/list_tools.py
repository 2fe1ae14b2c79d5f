"""``kwaak list-tools``: the built-in tools agents get, and the tools of every MCP server.

Text output keeps kwaak's layout::

    **Enabled built-in tools:**
     - shell_command
     ...

    **MCP tools:**
    ::server-everything
     - echo: Echoes back the input string

MCP tools are shown under the name the model sees (``<server>__<tool>`` when the name clashes;
see :mod:`kwaak.mcp.names`). ``--json`` prints a list of full specs instead. Unlike kwaak, no
GitHub configuration is needed. The exit code is 1 when an MCP server failed to start (its
problem is reported on stderr; the other tools are still listed).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TextIO

from kwaak.config import Config
from kwaak.tools.base import Tool

DESCRIPTION_WIDTH = 100


class CommandApp(Protocol):
    """What the tool commands need from the loaded application."""

    @property
    def config(self) -> Config:
        """The validated configuration."""
        ...

    @property
    def repo_root(self) -> Path:
        """The user's repository."""
        ...


def run(app: CommandApp, *, as_json: bool = False) -> int:
    """Print the tools; return the exit code (0, or 1 if an MCP server failed)."""
    return asyncio.run(run_async(app, as_json=as_json))


async def run_async(
    app: CommandApp, *, as_json: bool = False, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """:func:`run` inside a running event loop, printing to ``out``/``err`` (default stdout/stderr)."""
    out = out or sys.stdout
    err = err or sys.stderr
    builtin = load_builtin_tools(app.config, warn=lambda text: print(text, file=err))
    from kwaak.mcp import McpToolset, merge_tools

    async with McpToolset(app.config.mcp or (), on_warning=lambda text: print(text, file=err)) as toolset:
        merged = merge_tools(builtin, toolset.tools())
        failed = dict(toolset.errors)
    mcp_tools = merged[len(builtin) :]
    if as_json:
        json.dump([tool_json(tool) for tool in merged], out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        out.write(render_text(builtin, mcp_tools, servers=[s.name for s in app.config.mcp or ()], failed=failed))
    return 1 if failed else 0


def load_builtin_tools(config: Config, *, warn: Callable[[str], None]) -> list[Tool]:
    """The built-in tools an agent session gets, from :mod:`kwaak.tools.catalog` when available."""
    try:
        catalog: Any = importlib.import_module("kwaak.tools.catalog")
    except ImportError:
        warn("note: the built-in tool catalog is not available in this build; listing MCP tools only")
        return []
    tools: list[Tool] = catalog.builtin_tools(config, has_workspace=True)
    return tools


def tool_json(tool: Tool) -> dict[str, Any]:
    """A tool's full spec as JSON-ready data."""
    return {
        "name": tool.name,
        "description": tool.description,
        "parameters": dict(tool.parameters),
        "source": tool.source,
    }


def one_line(text: str, width: int = DESCRIPTION_WIDTH) -> str:
    """The first non-empty line of ``text``, cut to ``width`` characters."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= width else line[: width - 3].rstrip() + "..."


def render_text(builtin: list[Tool], mcp_tools: list[Tool], *, servers: list[str], failed: dict[str, Any]) -> str:
    """kwaak's text layout (see the module docstring)."""
    lines = ["**Enabled built-in tools:**", *(f" - {tool.name}" for tool in builtin), "", "**MCP tools:**"]
    for server in dict.fromkeys(servers):
        lines.append(f"::{server}")
        if server in failed:
            lines.append(f" (not available: {one_line(str(failed[server]))})")
            continue
        for tool in mcp_tools:
            if tool.source == f"mcp:{server}":
                description = one_line(tool.description)
                lines.append(f" - {tool.name}: {description}" if description else f" - {tool.name}")
    return "\n".join(lines) + "\n"
