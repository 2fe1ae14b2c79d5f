"""Edit tools: ``patch_file`` (patch mode), ``replace_lines`` and ``add_lines`` (line mode).

Edits read the file through the executor, compute the new text with the pure functions of
:mod:`kwaak.tools.patch` / :mod:`kwaak.tools.lines`, and write it back only when the whole edit
succeeded: a failed edit never leaves a half-edited file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kwaak.tools import lines
from kwaak.tools.base import Tool, ToolContext, ToolError, string_params
from kwaak.tools.common import arg, read_text, summary_value, writable_path, write_text
from kwaak.tools.patch import PatchError, apply_patch

FILE_NAME = ("file_name", "Full path of the file, relative to the project root")

PATCH_EXAMPLE = (
    "--- a/src/greeter.py\n"
    "+++ b/src/greeter.py\n"
    "@@ -10,4 +10,5 @@ class Greeter:\n"
    "     def greet(self, name):\n"
    '-        return "Hello " + name\n'
    '+        name = name or "stranger"\n'
    '+        return f"Hello, {name}!"\n'
    " \n"
    "     def leave(self):\n"
)

PATCH_DESCRIPTION = f"""\
Replace content with a Unified format git patch. Use this tool to make multiple edits in a file.

Every hunk starts with an `@@ -a,b +c,d @@` header, followed by its lines: ` ` (a space) for an \
unchanged context line, `-` for a removed line, `+` for an added line. Context and removed lines \
must be copied exactly from the file (read it with `read_file_with_line_numbers` first, and leave \
out the `N|` prefix). Include about 3 context lines before and after each change. Hunks are placed \
by their content, so approximate line numbers are fine. The patch is applied completely or not at \
all; if it fails, the answer says which hunk did not match and why.

Example:
```
{PATCH_EXAMPLE}```"""


def _summary(template: str) -> Any:
    def summarize(args: Mapping[str, Any]) -> str:
        return template.format(summary_value(args, "file_name"))

    return summarize


async def _patch_file(ctx: ToolContext, args: dict[str, Any]) -> str:
    path = writable_path(ctx, arg(args, "file_name"))
    patch = arg(args, "patch")
    if not patch.strip():
        msg = "`patch` is empty; give a unified diff with `@@` hunks"
        raise ToolError(msg)
    original = await read_text(ctx, path, strict=True)
    try:
        result = apply_patch(original, patch)
    except PatchError as exc:
        msg = f"Failed to apply the patch to `{path}`: {exc}"
        raise ToolError(msg) from exc
    if result.text != original:
        await write_text(ctx, path, result.text)
    message = f"Patch applied successfully to `{path}` ({result.hunks} hunk{'s' if result.hunks != 1 else ''})."
    if result.notes:
        message += "\nNotes:\n" + "\n".join(f"- {note}" for note in result.notes)
    return message


def patch_file_tool() -> Tool:
    """``patch_file``: apply a unified diff to one file, all hunks or none."""
    return Tool(
        name="patch_file",
        description=PATCH_DESCRIPTION,
        handler=_patch_file,
        parameters=string_params(
            FILE_NAME,
            ("patch", "The unified diff to apply to the file, with `@@` hunks"),
        ),
        summarize=_summary("applying patch to file `{}`"),
    )


async def _replace_lines(ctx: ToolContext, args: dict[str, Any]) -> str:
    file_name = arg(args, "file_name")
    path = writable_path(ctx, file_name)
    original = await read_text(ctx, path, strict=True)
    try:
        updated = lines.replace_lines(original, args.get("start_line"), args.get("end_line"), arg(args, "content"))
    except lines.LineEditError as exc:
        raise ToolError(str(exc)) from exc
    await write_text(ctx, path, updated)
    return f"Successfully replaced content in {file_name}. {lines.REREAD}"


def replace_lines_tool() -> Tool:
    """``replace_lines``: replace a range of lines, anchored on its first and last line."""
    return Tool(
        name="replace_lines",
        description=(
            "Replace lines `start_line` to `end_line` (inclusive, 1-based, as shown by "
            "`read_file_with_line_numbers`) with `content`. The first line of `content` must be the current "
            "line `start_line` and the last line of `content` the current line `end_line`: choose the range so "
            "that it starts and ends with an unchanged, non-blank line, and repeat those lines in `content`. "
            "Do not include line numbers in `content`. Make only ONE edit at a time, and read the file again "
            "afterwards, as the line numbers will have changed."
        ),
        handler=_replace_lines,
        parameters=string_params(
            FILE_NAME,
            ("start_line", "The first line number to replace (1-based)"),
            ("end_line", "The last line number to replace (inclusive)"),
            ("content", "The new content of the range, including its unchanged first and last line"),
        ),
        summarize=_summary("replacing lines in file `{}`"),
    )


async def _add_lines(ctx: ToolContext, args: dict[str, Any]) -> str:
    file_name = arg(args, "file_name")
    path = writable_path(ctx, file_name)
    original = await read_text(ctx, path, strict=True)
    start_line = args.get("start_line")
    try:
        updated = lines.add_lines(original, start_line, arg(args, "content"))
    except lines.LineEditError as exc:
        raise ToolError(str(exc)) from exc
    await write_text(ctx, path, updated)
    return f"Successfully added content to {file_name} at line {start_line}. {lines.REREAD}"


def add_lines_tool() -> Tool:
    """``add_lines``: insert new lines after a line number."""
    return Tool(
        name="add_lines",
        description=(
            "Insert new lines into a file after a given line number (as shown by "
            "`read_file_with_line_numbers`). Use `0` to insert before the first line. Use this when you only "
            "add lines; make only ONE edit at a time, and read the file again afterwards."
        ),
        handler=_add_lines,
        parameters=string_params(
            FILE_NAME,
            ("start_line", "The line number to insert the content after (0 for the start of the file)"),
            ("content", "The lines to insert"),
        ),
        summarize=_summary("adding lines to file `{}`"),
    )
