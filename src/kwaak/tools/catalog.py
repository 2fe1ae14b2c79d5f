"""The built-in tool set of a session, assembled from the configuration like kwaak's.

Order (kwaak 0.16.2): the tools every agent has, then the edit mode's tools, GitHub tools (only
when GitHub is configured), ``search_web`` (with a Tavily key), ``run_tests``/``run_coverage``
(when the commands are set), ``reset_file`` (when there is a workspace), minus every tool set to
``false`` in ``[tools]``; ``stop`` is always there. Building the list never needs GitHub
configuration.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kwaak.tools.base import Tool, ToolContext, ToolOutput
from kwaak.tools.code_search import explain_code_tool, search_code_tool
from kwaak.tools.edit import add_lines_tool, patch_file_tool, replace_lines_tool
from kwaak.tools.files import (
    read_file_tool,
    read_file_with_line_numbers_tool,
    reset_file_tool,
    search_file_tool,
    write_file_tool,
)
from kwaak.tools.shell import git_tool, run_coverage_tool, run_tests_tool, shell_command_tool

if TYPE_CHECKING:
    from kwaak.config import Config

STOP_MESSAGE = "Stopped"

_EDIT_MODE_TOOLS: dict[str, tuple[Callable[[], Tool], ...]] = {
    "whole": (read_file_tool,),
    "line": (read_file_with_line_numbers_tool, replace_lines_tool, add_lines_tool),
    "patch": (read_file_with_line_numbers_tool, patch_file_tool),
}


async def _stop(ctx: ToolContext, args: dict[str, Any]) -> ToolOutput:
    return ToolOutput(content=STOP_MESSAGE, stop=True)


def stop_tool() -> Tool:
    """``stop``: end the agent's run."""
    return Tool(
        name="stop",
        description="When you have completed, or cannot complete, your task, call this",
        handler=_stop,
        mutating=False,
        summarize=lambda args: "stopping",
    )


def builtin_tools(
    config: Config, *, has_workspace: bool = True, github_enabled: bool | None = None, has_index: bool = True
) -> list[Tool]:
    """The built-in tools for an agent with ``config``.

    Args:
        config: The configuration (edit mode, commands, keys, ``[tools]`` toggles).
        has_workspace: Whether the agent has a git workspace (``reset_file`` needs one).
        github_enabled: Include the GitHub tools; defaults to ``config.github_enabled()``.
        has_index: Whether a code index serves ``explain_code`` (without one, e.g. under
            ``--skip-indexing``, the tool could only fail and is left out of the prompt).

    Returns:
        The tools, in kwaak's order, each name once, ``stop`` last.
    """
    github = config.github_enabled() if github_enabled is None else github_enabled
    tools: list[Tool | None] = [
        write_file_tool(),
        search_file_tool(),
        git_tool(),
        shell_command_tool(),
        search_code_tool(),
        _optional_tool("web", "fetch_url_tool"),
        explain_code_tool() if has_index else None,
        *(factory() for factory in _EDIT_MODE_TOOLS[config.agent_edit_mode]),
    ]
    if github:
        tools.append(_optional_tool("github_tools", "create_or_update_pull_request_tool"))
        tools.append(_optional_tool("github_tools", "github_search_code_tool"))
    if config.tavily_api_key is not None:
        tools.append(_optional_tool("web", "search_web_tool"))
    if config.commands.test:
        tools.append(run_tests_tool())
    if config.commands.coverage:
        tools.append(run_coverage_tool())
    if has_workspace:
        tools.append(reset_file_tool())
    return _finalize(tools, config)


def _finalize(tools: list[Tool | None], config: Config) -> list[Tool]:
    seen: dict[str, Tool] = {}
    for tool in tools:
        if tool is not None and tool.name not in seen and config.tool_enabled(tool.name):
            seen[tool.name] = tool
    seen.pop("stop", None)
    return [*seen.values(), stop_tool()]


def _optional_tool(module: str, factory: str) -> Tool | None:
    """A tool from a sibling module that may not exist yet; a missing module or factory is skipped."""
    name = f"kwaak.tools.{module}"
    try:
        mod = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise
    make = getattr(mod, factory, None)
    if not callable(make):
        return None
    tool = make()
    return tool if isinstance(tool, Tool) else None


def edit_mode_constraints(config: Config) -> list[str]:
    """The system-prompt constraints of the configured edit mode (kwaak's wording, lightly fixed)."""
    mode = config.agent_edit_mode
    if mode == "line":
        return [
            "Prefer editing files with `replace_lines` and `add_lines` over `write_file`, if possible. "
            "This is faster and less error prone. You can only make ONE `replace_lines` or `add_lines` call "
            "at a time. After each you MUST call `read_file_with_line_numbers` again, as the line numbers "
            "WILL have changed.",
            "If you are only adding NEW lines, you MUST use `add_lines`.",
            "Before every call to `replace_lines` or `add_lines`, you MUST read the file content with the "
            "line numbers. You are not allowed to count lines yourself.",
        ]
    if mode == "patch":
        return [
            "Prefer editing files with `patch_file` over `write_file`. This is faster and less error prone.",
            "Read a file with `read_file_with_line_numbers` before patching it, and copy the context lines of "
            "your patch exactly from it.",
            "If `patch_file` continues to be troublesome, defer to `write_file` instead.",
        ]
    return [
        "Edit files with `write_file`, always writing the complete content of the file; read it with "
        "`read_file` first.",
    ]
