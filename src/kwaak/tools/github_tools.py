"""GitHub tools: ``create_or_update_pull_request`` and ``github_search_code``."""

from __future__ import annotations

from typing import Any

from kwaak.tools.base import Tool, ToolContext, ToolError, string_params


async def _not_ready(ctx: ToolContext, args: dict[str, Any]) -> str:
    msg = "this tool is not available yet"
    raise ToolError(msg)


def create_or_update_pull_request_tool() -> Tool:
    """The ``create_or_update_pull_request`` tool."""
    return Tool(
        name="create_or_update_pull_request",
        description="Creates or updates a pull request on Github.",
        handler=_not_ready,
        parameters=string_params(
            ("title", "Title of the pull request"), ("pull_request_body", "Body of the pull request")
        ),
    )


def github_search_code_tool() -> Tool:
    """The ``github_search_code`` tool."""
    return Tool(
        name="github_search_code",
        description="Search code on github",
        handler=_not_ready,
        parameters=string_params(("query", "Github search query (compatible with github search api)")),
        mutating=False,
    )
