"""MCP servers as agent tools.

:class:`McpToolset` starts the ``[[mcp]]`` servers of a session and exposes their tools;
:func:`merge_tools` combines them with the built-in tools under a clear clash rule (see
:mod:`kwaak.mcp.names`). The ``mcp`` SDK itself is imported lazily, when a toolset is entered.
"""

from kwaak.mcp.names import merge_tools, safe_tool_name
from kwaak.mcp.toolset import McpToolset

__all__ = ["McpToolset", "merge_tools", "safe_tool_name"]
