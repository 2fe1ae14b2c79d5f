"""File tools: ``read_file``, ``read_file_with_line_numbers``, ``write_file``, ``search_file``, ``reset_file``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import re2

from kwaak.tools.base import Tool, ToolContext, ToolError, string_params
from kwaak.tools.common import (
    arg,
    command_output,
    read_text,
    run,
    summary_value,
    truncate,
    workspace_path,
    writable_path,
    write_text,
)

FILE_NAME = ("file_name", "Full path of the file, relative to the project root")
READ_HINT = "use `shell_command` with `sed -n 'START,ENDp' FILE` to read a range of lines"


def _summary(template: str) -> Any:
    def summarize(args: Mapping[str, Any]) -> str:
        return template.format(summary_value(args, "file_name"))

    return summarize


async def _read_file(ctx: ToolContext, args: dict[str, Any]) -> str:
    path = workspace_path(ctx, arg(args, "file_name"))
    text = await read_text(ctx, path)
    if not text:
        return f"[`{path}` is empty]"
    return truncate(text, ctx.config.limits.max_tool_output_chars, hint=READ_HINT)


def number_lines(text: str) -> str:
    """Prefix every line with its 1-based number and ``|`` (kwaak's ``N|line`` format)."""
    return "\n".join(f"{n}|{line}" for n, line in enumerate(text.splitlines(), start=1))


async def _read_file_with_line_numbers(ctx: ToolContext, args: dict[str, Any]) -> str:
    path = workspace_path(ctx, arg(args, "file_name"))
    text = await read_text(ctx, path)
    if not text:
        return f"[`{path}` is empty]"
    return truncate(number_lines(text), ctx.config.limits.max_tool_output_chars, hint=READ_HINT)


async def _write_file(ctx: ToolContext, args: dict[str, Any]) -> str:
    file_name = arg(args, "file_name")
    path = writable_path(ctx, file_name)
    await write_text(ctx, path, arg(args, "content"))
    return f"File written successfully to {file_name}"


def read_file_tool() -> Tool:
    """``read_file``: the file's content."""
    return Tool(
        name="read_file",
        description="Reads file content",
        handler=_read_file,
        parameters=string_params(FILE_NAME),
        mutating=False,
        summarize=_summary("reading file `{}`"),
    )


def read_file_with_line_numbers_tool() -> Tool:
    """``read_file_with_line_numbers``: every line prefixed with ``N|``."""
    return Tool(
        name="read_file_with_line_numbers",
        description=(
            "Reads file content, including line numbers (every line is prefixed with `N|`). "
            "You MUST use this tool to retrieve line numbers before making an edit."
        ),
        handler=_read_file_with_line_numbers,
        parameters=string_params(FILE_NAME),
        mutating=False,
        summarize=_summary("reading file `{}` (with line numbers)"),
    )


def write_file_tool() -> Tool:
    """``write_file``: overwrite (or create) a file with the full content."""
    return Tool(
        name="write_file",
        description=(
            "Write content to a file, creating it and its directories if needed. The file is overwritten, "
            "so you MUST always write the FULL content of the file, including any unchanged parts; "
            "never leave anything out or write placeholders."
        ),
        handler=_write_file,
        parameters=string_params(FILE_NAME, ("content", "FULL Content to write to the file")),
        summarize=_summary("writing file `{}`"),
    )


# ---------------------------------------------------------------------------------------------
# search_file
# ---------------------------------------------------------------------------------------------

_LIST_GIT = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
_LIST_DELETED = ["git", "ls-files", "-z", "--deleted"]
_LIST_FIND = ["find", ".", "-path", "./.git", "-prune", "-o", "-type", "f", "-print0"]


async def list_project_files(ctx: ToolContext) -> list[str]:
    """Files of the project (git's view: tracked and untracked, ignored files left out).

    Hidden files are included and ``.git`` is not. Outside a git repository, ``find`` is used.
    """
    listed = await run(ctx, _LIST_GIT)
    if listed.ok:
        deleted = await run(ctx, _LIST_DELETED)
        gone = set(deleted.output.split("\0")) if deleted.ok else set()
        names = {name for name in listed.output.split("\0") if name and name not in gone}
    else:
        found = await run(ctx, _LIST_FIND)
        if not found.ok:
            raise ToolError("Failed to list files:\n" + command_output(ctx, found))
        names = {name.removeprefix("./") for name in found.output.split("\0") if name}
    return sorted(names)


def _with_directories(files: list[str]) -> list[str]:
    dirs = {parent + "/" for name in files for parent in _parents(name)}
    return sorted(set(files) | dirs)


def _parents(name: str) -> list[str]:
    parts = name.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def match_paths(paths: list[str], query: str) -> list[str]:
    """Paths matching ``query`` as a case-insensitive regex (or literally, when the regex fails).

    The regex comes from the model, so it runs on RE2, whose matching time is linear in the input:
    a pattern such as ``(a+)+b`` cannot freeze the event loop (and every other agent with it).
    Patterns RE2 does not support (backreferences, lookarounds) are matched literally.
    """
    if not query:
        return paths
    needle = query.casefold()
    matched: list[str] = []
    pattern = _compile_re2(query)
    if pattern is not None:
        matched = [path for path in paths if pattern.search(path)]
    if not matched:
        matched = [path for path in paths if needle in path.casefold()]
    return matched


def _compile_re2(query: str) -> Any:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # RE2 would print parse errors to stderr (the user's terminal)
    try:
        return re2.compile(query, options)
    except re2.error:
        return None


async def _search_file(ctx: ToolContext, args: dict[str, Any]) -> str:
    query = arg(args, "file_name").strip()
    paths = match_paths(_with_directories(await list_project_files(ctx)), query)
    if not paths:
        return f"No files found matching `{query}`."
    return truncate("\n".join(paths), ctx.config.limits.max_tool_output_chars, hint="use a more specific query")


def search_file_tool() -> Tool:
    """``search_file``: find files by (partial) path, as a case-insensitive regex."""
    return Tool(
        name="search_file",
        description=(
            "Searches for a file inside the current project, leave the argument empty to list all files. "
            "The argument is a case-insensitive regular expression (or plain text) matched against the full "
            "path relative to the project root; hidden files are included, ignored files are not."
        ),
        handler=_search_file,
        parameters=string_params(("file_name", "Partial or full name of the file")),
        mutating=False,
        summarize=lambda args: f"searching for files matching `{summary_value(args, 'file_name')}`",
    )


# ---------------------------------------------------------------------------------------------
# reset_file
# ---------------------------------------------------------------------------------------------


async def _reset_file(ctx: ToolContext, args: dict[str, Any]) -> str:
    if ctx.workspace is None:
        msg = "reset_file needs the agent's workspace, which is not available here"
        raise ToolError(msg)
    path = writable_path(ctx, arg(args, "file_name"))
    ref = ctx.workspace.start_ref
    existed = await run(ctx, ["git", "cat-file", "-e", f"{ref}:./{path}"])
    if existed.ok:
        result = await run(ctx, ["git", "checkout", ref, "--", path])
        if not result.ok:
            raise ToolError(f"Failed to reset `{path}`:\n" + command_output(ctx, result))
        return f"`{path}` was reset to its state at the start of the task."
    await run(ctx, ["git", "rm", "-q", "-f", "--cached", "--ignore-unmatch", "--", path])
    removed = await run(ctx, ["rm", "-f", "--", path])
    if not removed.ok:
        raise ToolError(f"Failed to reset `{path}`:\n" + command_output(ctx, removed))
    return f"`{path}` did not exist at the start of the task, so it was removed."


def reset_file_tool() -> Tool:
    """``reset_file``: restore a file to its state at the agent's start commit."""
    return Tool(
        name="reset_file",
        description=(
            "Reset changes you have made to a file, restoring it to its state at the start of your task "
            "(a file you created is removed). Use this if you are stuck and want to start over with a file."
        ),
        handler=_reset_file,
        parameters=string_params(FILE_NAME),
        summarize=_summary("resetting file `{}` to last committed state"),
    )
