"""Parsing of LLM-written unified diffs into hunks (the lenient half of ``patch_file``).

Everything before the first ``@@`` is ignored (``---``/``+++`` headers, ``diff --git`` lines,
markdown fences). Headers may be complete (``@@ -3,4 +3,5 @@``), short (``@@ -3 +3 @@``) or bare
(``@@``); the counts are never trusted, hunks are recounted from their bodies. A patch without any
``@@`` line is read as a single hunk when it has ``+``/``-`` lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Op = Literal[" ", "-", "+"]

_HEADER = re.compile(r"^@@+\s*-(\d+)(?:,(\d+))?\s+\+(\d+)(?:,(\d+))?\s*@@+(.*)$")
_NO_NEWLINE = "\\ No newline at end of file"


class PatchParseError(ValueError):
    """The patch has no usable hunk."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Hunk:
    """One hunk: its header as written, the line hint and its body as ``(op, text)`` pairs."""

    number: int
    """1-based position in the patch."""
    header: str
    old_start: int | None
    """The header's ``-a`` (1-based); ``None`` for a bare ``@@``."""
    old_count: int | None
    """The header's ``b`` when written (used only for pure insertions)."""
    lines: tuple[tuple[Op, str], ...]
    old_no_eol: bool = False
    """``\\ No newline at end of file`` follows the old side's last line."""
    new_no_eol: bool = False
    """``\\ No newline at end of file`` follows the new side's last line."""

    @property
    def old(self) -> list[str]:
        """Context and removed lines: what must be found in the file."""
        return [text for op, text in self.lines if op != "+"]

    @property
    def new(self) -> list[str]:
        """Context and added lines: what the file contains after the hunk."""
        return [text for op, text in self.lines if op != "-"]

    @property
    def changes(self) -> bool:
        """Whether the hunk adds or removes anything."""
        return any(op != " " for op, _ in self.lines)

    @property
    def hint(self) -> int | None:
        """0-based index where the header says the old lines start."""
        return None if self.old_start is None else max(self.old_start - 1, 0)

    def body(self) -> str:
        """The hunk as text (header and lines), for error messages."""
        return "\n".join([self.header, *(f"{op}{text}" for op, text in self.lines)])


def parse_patch(patch: str) -> list[Hunk]:
    """Split ``patch`` into hunks.

    Raises:
        PatchParseError: no hunk with any change was found.
    """
    lines = _clean_lines(patch)
    _refuse_several_files(lines)
    if not any(line.startswith("@@") for line in lines):
        return _headerless(lines)
    hunks: list[Hunk] = []
    current: list[str] | None = None
    header = ""
    for index, line in enumerate(lines):
        if line.startswith("@@"):
            if current is not None:
                hunks.append(_make_hunk(len(hunks) + 1, header, current))
            header, current = line, []
        elif current is not None and not _is_file_header(lines, index):
            current.append(line)
    if current is not None:
        hunks.append(_make_hunk(len(hunks) + 1, header, current))
    return hunks


def _clean_lines(patch: str) -> list[str]:
    lines = [line.removesuffix("\r") for line in patch.replace("\r\n", "\n").split("\n")]
    while lines and (not lines[-1].strip() or lines[-1].strip().startswith("```")):
        lines.pop()
    return lines


def _refuse_several_files(lines: list[str]) -> None:
    targets = {
        line[4:].split("\t")[0].strip().removeprefix("b/")
        for index, line in enumerate(lines)
        if line.startswith("+++ ") and index > 0 and lines[index - 1].startswith("--- ")
    }
    targets.discard("/dev/null")
    if len(targets) > 1:
        names = ", ".join(f"`{name}`" for name in sorted(targets))
        msg = f"the patch changes several files ({names}); call `patch_file` once per file"
        raise PatchParseError(msg)


def _is_file_header(lines: list[str], index: int) -> bool:
    """``diff --git``/``index``/``---``/``+++`` lines between hunks of a multi-file patch."""
    line = lines[index]
    if line.startswith("diff --git ") or line.startswith("```"):
        return True
    if line.startswith("index ") and index > 0 and lines[index - 1].startswith("diff --git "):
        return True
    nxt = lines[index + 1] if index + 1 < len(lines) else ""
    if line.startswith("--- ") and nxt.startswith("+++ "):
        return index + 2 >= len(lines) or lines[index + 2].startswith("@@")
    if line.startswith("+++ ") and index > 0 and lines[index - 1].startswith("--- "):
        return index + 1 >= len(lines) or nxt.startswith("@@")
    return False


def _headerless(lines: list[str]) -> list[Hunk]:
    start = 0
    while start < len(lines) and lines[start].startswith(("--- ", "+++ ", "diff --git ", "index ", "```")):
        start += 1
    hunk = _make_hunk(1, "@@", lines[start:])
    if not any(op != " " for op, _ in hunk.lines):
        msg = "no hunks found: the patch must contain `@@` hunks with `-` and `+` lines"
        raise PatchParseError(msg)
    return [hunk]


def _make_hunk(number: int, header: str, body: list[str]) -> Hunk:
    old_start, old_count = _parse_header(header)
    while body and body[-1] == "":
        body.pop()  # blank separator lines between hunks; blank-line tolerance covers real ones
    ops: list[tuple[Op, str]] = []
    old_no_eol = new_no_eol = False
    for line in body:
        if line.startswith("\\"):
            if line.strip() == _NO_NEWLINE and ops:
                last_op = ops[-1][0]
                old_no_eol = old_no_eol or last_op in " -"
                new_no_eol = new_no_eol or last_op in " +"
            continue
        ops.append(_classify(line))
    return Hunk(
        number=number,
        header=header.strip(),
        old_start=old_start,
        old_count=old_count,
        lines=tuple(ops),
        old_no_eol=old_no_eol,
        new_no_eol=new_no_eol,
    )


def _classify(line: str) -> tuple[Op, str]:
    if line.startswith("+"):
        return "+", line[1:]
    if line.startswith("-"):
        return "-", line[1:]
    if line.startswith(" "):
        return " ", line[1:]
    return " ", line  # models drop the leading space of context lines (often of blank ones)


def _parse_header(header: str) -> tuple[int | None, int | None]:
    match = _HEADER.match(header.strip())
    if match is None:
        return None, None
    count = match.group(2)
    return int(match.group(1)), None if count is None else int(count)
