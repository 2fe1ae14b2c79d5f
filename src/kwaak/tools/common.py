"""Helpers shared by the built-in tools: path checks, text reads, command output, truncation."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

from kwaak.errors import ExecutorError
from kwaak.executors.base import ExecResult, PathOutsideWorkspace
from kwaak.executors.fileworker import FileWorkTimeout
from kwaak.executors.safefs import FileRefused, is_protected
from kwaak.tools.base import ToolContext, ToolError, ToolOutput
from kwaak.tools.testcounts import runner_counts

BINARY_SNIFF_BYTES = 8192
COMMAND_ENV = {"GIT_EDITOR": "true", "GIT_SEQUENCE_EDITOR": "true", "GIT_TERMINAL_PROMPT": "0"}
"""Never let a command wait for an editor or a password prompt."""


def arg(args: Mapping[str, Any], name: str) -> str:
    """The string argument ``name`` (``""`` when absent or null)."""
    value = args.get(name)
    return "" if value is None else str(value)


def workspace_path(ctx: ToolContext, file_name: str) -> str:
    """Normalize a path given by the model to one relative to the workspace.

    Absolute paths are accepted when they point inside the executor's workdir (``/app/...`` in
    docker) or inside the host worktree.

    Raises:
        ToolError: the path is empty or points outside the workspace.
    """
    name = file_name.strip()
    if not name or "\x00" in name:
        msg = "`file_name` must be a path relative to the project root, e.g. `src/main.py`"
        raise ToolError(msg)
    path = PurePosixPath(name)
    if path.is_absolute():
        path = _relative_to_roots(ctx, path, name)
    normalized = posixpath.normpath(str(path))
    if normalized == ".." or normalized.startswith("../"):
        raise ToolError(_outside(name))
    return normalized


def writable_path(ctx: ToolContext, file_name: str) -> str:
    """Like :func:`workspace_path`, for a tool that writes: ``.git`` at any depth is refused.

    Raises:
        ToolError: the path is empty, outside the workspace, or git metadata.
    """
    path = workspace_path(ctx, file_name)
    if is_protected(path.split("/")):
        msg = f"`{path}` is git metadata (`.git`); tools never write it. Use the `git` tool or a shell command."
        raise ToolError(msg)
    return path


def _relative_to_roots(ctx: ToolContext, path: PurePosixPath, name: str) -> PurePosixPath:
    roots = [ctx.executor.workdir]
    if ctx.workspace is not None:
        roots.append(str(ctx.workspace.path))
    for root in roots:
        try:
            return PurePosixPath(posixpath.normpath(str(path))).relative_to(root)
        except ValueError:
            continue
    raise ToolError(_outside(name))


def _outside(name: str) -> str:
    return f"Path `{name}` is outside the project; only files inside the project can be used."


async def read_bytes(ctx: ToolContext, path: str) -> bytes:
    """Read ``path`` through the executor, turning every failure into a :class:`ToolError`."""
    try:
        return await ctx.executor.read_file(path)
    except FileNotFoundError as exc:
        msg = f"File `{path}` does not exist. Use `search_file` to find the right path."
        raise ToolError(msg) from exc
    except IsADirectoryError as exc:
        msg = f"`{path}` is a directory, not a file. Use `search_file` to list its files."
        raise ToolError(msg) from exc
    except NotADirectoryError as exc:
        msg = f"File `{path}` does not exist (a parent of it is a file, not a directory)."
        raise ToolError(msg) from exc
    except PermissionError as exc:
        msg = f"Permission denied reading `{path}`."
        raise ToolError(msg) from exc
    except (FileRefused, FileWorkTimeout) as exc:
        raise ToolError(str(exc)) from exc
    except PathOutsideWorkspace as exc:
        raise ToolError(_outside(path) + " (symbolic links may not point outside it)") from exc
    except ExecutorError as exc:
        msg = f"Failed to read file `{path}`: {exc}"
        raise ToolError(msg) from exc
    except OSError as exc:  # e.g. a symbolic link loop
        msg = f"Cannot read `{path}`: {exc.strerror or exc}"
        raise ToolError(msg) from exc


def decode_text(data: bytes, path: str, *, strict: bool = False) -> str:
    """Decode file contents as UTF-8 text.

    Args:
        data: The raw bytes.
        path: For messages.
        strict: Refuse undecodable bytes instead of replacing them (needed before editing).

    Raises:
        ToolError: the file is binary (or not UTF-8 when ``strict``).
    """
    if b"\x00" in data[:BINARY_SNIFF_BYTES]:
        msg = f"`{path}` is a binary file ({len(data)} bytes); it cannot be read or edited as text."
        raise ToolError(msg)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if strict:
            msg = f"`{path}` is not UTF-8 text; edit it with `write_file` or a shell command instead."
            raise ToolError(msg) from exc
        return data.decode("utf-8", errors="replace")


async def read_text(ctx: ToolContext, path: str, *, strict: bool = False) -> str:
    """Read ``path`` as text (see :func:`read_bytes` and :func:`decode_text`)."""
    return decode_text(await read_bytes(ctx, path), path, strict=strict)


async def write_text(ctx: ToolContext, path: str, text: str) -> None:
    """Write ``text`` to ``path`` through the executor (parents created).

    Raises:
        ToolError: the write failed or the path is outside the workspace.
    """
    try:
        await ctx.executor.write_file(path, text.encode("utf-8"))
    except (FileRefused, FileWorkTimeout) as exc:
        raise ToolError(str(exc)) from exc
    except PathOutsideWorkspace as exc:
        raise ToolError(_outside(path) + " (symbolic links may not point outside it)") from exc
    except IsADirectoryError as exc:
        msg = f"`{path}` is a directory; give a file name."
        raise ToolError(msg) from exc
    except (OSError, ExecutorError) as exc:
        msg = f"Failed to write file `{path}`: {exc}"
        raise ToolError(msg) from exc


async def run(ctx: ToolContext, cmd: str | Sequence[str]) -> ExecResult:
    """Run ``cmd`` through the executor with the configured tool timeout.

    Raises:
        ToolError: the executor failed (not a non-zero exit, which is a normal result).
    """
    try:
        return await ctx.executor.exec(cmd, env=COMMAND_ENV, timeout=ctx.config.limits.tool_timeout_sec)
    except (OSError, ValueError, ExecutorError) as exc:  # ValueError: a NUL byte in the command
        # The hint (e.g. "start the docker daemon again") reaches the user through the tool output.
        msg = f"Failed to run the command: {exc.render() if isinstance(exc, ExecutorError) else exc}"
        raise ToolError(msg) from exc


def command_output(ctx: ToolContext, result: ExecResult) -> str:
    """The text the model sees for a command: output, exit status, truncated to the limit."""
    text = result.output.rstrip("\n")
    if result.timed_out:
        text += f"\n[the command was stopped after {ctx.config.limits.tool_timeout_sec:g} seconds]"
    elif result.exit_code != 0:
        text += f"\n[exit code: {result.exit_code}]"
    elif not text:
        text = "[the command succeeded with no output]"
    return truncate(text, ctx.config.limits.max_tool_output_chars)


def command_result(ctx: ToolContext, result: ExecResult, *, counts: bool = True) -> ToolOutput:
    """:func:`command_output` plus the exit code and test counts people see on the tool line."""
    outcome = "timed out" if result.timed_out else None
    if counts and outcome is None:
        outcome = runner_counts(result.output)
    return ToolOutput(content=command_output(ctx, result), exit_code=result.exit_code, outcome=outcome)


def truncate(text: str, limit: int, *, hint: str = "") -> str:
    """Shorten ``text`` to about ``limit`` characters, keeping its head and tail around a marker.

    The cut points snap to line ends when one is near, and the marker says how much was dropped
    and how big the whole output was.
    """
    if len(text) <= limit:
        return text
    head_budget = limit * 3 // 5
    tail_budget = limit - head_budget
    head = _snap_head(text[:head_budget])
    tail = _snap_tail(text[len(text) - tail_budget :])
    omitted = len(text) - len(head) - len(tail)
    total_lines = text.count("\n") + 1
    marker = (
        f"\n[... {omitted} characters omitted; the full output has {len(text)} characters in {total_lines} lines"
        f"{'; ' + hint if hint else ''} ...]\n"
    )
    return head + marker + tail


def _snap_head(head: str) -> str:
    cut = head.rfind("\n")
    return head[:cut] if cut > len(head) * 3 // 4 else head


def _snap_tail(tail: str) -> str:
    cut = tail.find("\n")
    return tail[cut + 1 :] if 0 <= cut < len(tail) // 4 else tail


def summary_value(args: Mapping[str, Any], name: str) -> str:
    """An argument for a one-line UI summary (first line only, at most 80 characters)."""
    value = arg(args, name).strip().splitlines()
    first = value[0] if value else ""
    return first if len(first) <= 80 else first[:77] + "..."
