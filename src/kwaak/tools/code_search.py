"""Code search tools: ``search_code`` (ripgrep, literal) and ``explain_code`` (the semantic index)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from kwaak.errors import KwaakError
from kwaak.tools.base import Tool, ToolContext, ToolError, string_params
from kwaak.tools.common import arg, command_output, run, summary_value, truncate

MAX_COLUMNS = 360
_NOT_FOUND_EXIT = 127


def ripgrep_binary(executor_kind: str) -> str:
    """The ``rg`` to run: the ripgrep wheel's next to our interpreter on the host, ``rg`` in docker."""
    if executor_kind == "docker":
        return "rg"
    beside = Path(sys.executable).parent / "rg"
    if beside.is_file():
        return str(beside)
    return shutil.which("rg") or "rg"


def ripgrep_argv(rg: str, query: str) -> list[str]:
    """Fixed-string, case-insensitive search over hidden files too, ``.git`` excluded, long lines previewed."""
    return [
        rg,
        "--no-config",
        "--fixed-strings",
        "--ignore-case",
        "--hidden",
        "--glob",
        "!.git",
        "--line-number",
        "--no-heading",
        "--color",
        "never",
        "--max-columns",
        str(MAX_COLUMNS),
        "--max-columns-preview",
        "--",
        query,
        ".",
    ]


def grep_argv(query: str) -> list[str]:
    """The same search with POSIX-ish grep, when ``rg`` is missing (e.g. in a bare container)."""
    return ["grep", "-rnIiF", "--exclude-dir=.git", "--", query, "."]


async def _search_code(ctx: ToolContext, args: dict[str, Any]) -> str:
    query = arg(args, "query")
    if not query.strip():
        msg = "`query` is empty; give the code or text to search for"
        raise ToolError(msg)
    result = await run(ctx, ripgrep_argv(ripgrep_binary(ctx.executor.kind), query))
    if result.exit_code == _NOT_FOUND_EXIT:
        result = await run(ctx, grep_argv(query))
    if result.exit_code == 1 and not result.timed_out:
        return f"No matches found for `{query}`."
    if not result.ok:
        return command_output(ctx, result)
    output = "\n".join(line.removeprefix("./") for line in result.output.rstrip("\n").splitlines())
    return truncate(output, ctx.config.limits.max_tool_output_chars, hint="search for something more specific")


def search_code_tool() -> Tool:
    """``search_code``: literal, case-insensitive code search with ripgrep."""
    return Tool(
        name="search_code",
        description=(
            "Search code in the project with ripgrep. Only searches within the current project. "
            "Matching lines are returned as `path:line:text`."
        ),
        handler=_search_code,
        parameters=string_params(
            (
                "query",
                "Code you would like to find in the repository. Best used for exact search. The search is "
                "case-insensitive and literal (not a regex). Uses `ripgrep`.",
            )
        ),
        mutating=False,
        summarize=lambda args: f"searching for code matching `{summary_value(args, 'query')}`",
    )


Explain = Callable[[str], Awaitable[str]]


async def _explain_code(ctx: ToolContext, args: dict[str, Any]) -> str:
    query = arg(args, "query")
    if not query.strip():
        msg = "`query` is empty; describe what you want to know about the code"
        raise ToolError(msg)
    explain: Explain | None = ctx.services.get("explain")
    if explain is None:
        msg = "The code index is not available in this session; use `search_code` and `search_file` instead."
        raise ToolError(msg)
    try:
        answer = await explain(query)
    except KwaakError as exc:
        msg = f"Querying the code index failed ({exc}); use `search_code` and `search_file` instead."
        raise ToolError(msg) from exc
    return truncate(answer, ctx.config.limits.max_tool_output_chars)


def explain_code_tool() -> Tool:
    """``explain_code``: ask the code index a question in plain language."""
    return Tool(
        name="explain_code",
        description=(
            "Search code and documentation in human language in the project. Use this to find out how "
            "something works, where something is implemented, or what code relates to a concept."
        ),
        handler=_explain_code,
        parameters=string_params(
            (
                "query",
                "A description, question, or literal code you want to know more about. "
                "Uses a semantic similarity search.",
            )
        ),
        mutating=False,
        summarize=lambda args: f"querying for code explaining `{summary_value(args, 'query')}`",
    )
