"""Web tools: ``search_web`` (Tavily) and ``fetch_url``."""

from __future__ import annotations

from typing import Any

from kwaak.tools.base import Tool, ToolContext, ToolError, string_params


async def _not_ready(ctx: ToolContext, args: dict[str, Any]) -> str:
    msg = "this tool is not available yet"
    raise ToolError(msg)


def search_web_tool() -> Tool:
    """The ``search_web`` tool."""
    return Tool(
        name="search_web",
        description="Search the web to answer a question",
        handler=_not_ready,
        parameters=string_params(("query", "Search query")),
        mutating=False,
    )


def fetch_url_tool() -> Tool:
    """The ``fetch_url`` tool."""
    return Tool(
        name="fetch_url",
        description="Fetch a url and return the content as markdown",
        handler=_not_ready,
        parameters=string_params(("url", "The url to fetch")),
        mutating=False,
    )
