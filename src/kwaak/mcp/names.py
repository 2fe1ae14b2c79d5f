"""Model-facing names of MCP tools, and the rule that resolves name clashes.

Providers accept tool names matching ``^[A-Za-z0-9_-]{1,64}$``; MCP allows more (dots, slashes,
long names), so every MCP tool name is first made safe with :func:`safe_tool_name`. The tool's
handler keeps the server's real name, so renaming never changes what is called.

**Clash rule** (:func:`merge_tools`): built-in tools keep their names. An MCP tool whose name is
also used by a built-in tool, or by a tool of *another* MCP server, is exposed as
``<server>__<tool>`` — every claimant of a clashing name is prefixed, so the result does not depend
on the order of the ``[[mcp]]`` entries. Names that still collide after that (e.g. two servers with
the same name) get a numeric suffix ``_2``, ``_3``... in server order.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Sequence

from kwaak.tools.base import Tool

MAX_NAME_LEN = 64
SEPARATOR = "__"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def safe_tool_name(name: str) -> str:
    """``name`` with characters providers reject replaced by ``_``, at most 64 characters."""
    cleaned = _UNSAFE.sub("_", name).strip("_") or "tool"
    return cleaned[:MAX_NAME_LEN]


def server_of(tool: Tool) -> str | None:
    """The MCP server a tool comes from (its ``source`` is ``mcp:<server>``), or ``None``."""
    prefix, sep, server = tool.source.partition(":")
    return server if prefix == "mcp" and sep else None


def prefixed_name(server: str, tool_name: str) -> str:
    """``<server>__<tool>``, made safe and cut to 64 characters (keeping the tool's end)."""
    head = safe_tool_name(server)
    tail = safe_tool_name(tool_name)
    room = MAX_NAME_LEN - len(SEPARATOR) - len(tail)
    if room < 1:
        return (head[:8] + SEPARATOR + tail)[-MAX_NAME_LEN:]
    return head[:room] + SEPARATOR + tail


def merge_tools(builtin: Sequence[Tool], mcp: Sequence[Tool]) -> list[Tool]:
    """Built-in tools followed by MCP tools, with clashing MCP names prefixed by their server.

    Args:
        builtin: The session's built-in tools (names are kept as they are).
        mcp: Tools from :class:`kwaak.mcp.McpToolset`, each with ``source="mcp:<server>"``.

    Returns:
        One list in which every name is unique.
    """
    builtin_names = {tool.name for tool in builtin}
    owners: dict[str, set[str | None]] = {}
    for tool in mcp:
        owners.setdefault(tool.name, set()).add(server_of(tool))
    clashing = {name for name, servers in owners.items() if name in builtin_names or len(servers) > 1}

    merged = list(builtin)
    taken = set(builtin_names)
    counts: Counter[str] = Counter()
    for tool in mcp:
        name = tool.name
        if name in clashing or name in taken:
            name = prefixed_name(server_of(tool) or "mcp", tool.name)
        base = name
        while name in taken:
            counts[base] += 1
            suffix = f"_{counts[base] + 1}"
            name = base[: MAX_NAME_LEN - len(suffix)] + suffix
        taken.add(name)
        merged.append(tool if name == tool.name else dataclasses.replace(tool, name=name))
    return merged
