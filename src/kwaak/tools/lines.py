"""Line-number edits (kwaak's ``line`` edit mode) as pure functions: text in, text out.

``replace_lines`` keeps kwaak's anchoring rule: the first and last lines of the new content must
match the file's lines ``start_line`` and ``end_line`` (the model repeats one unchanged line at
each end), which catches edits made against stale line numbers. Line endings and the final
newline of the file are preserved.
"""

from __future__ import annotations

from dataclasses import dataclass

from kwaak.tools.patch_match import indent_of, indent_transform

REREAD = "Before making new edits, you MUST read the file again, as the line numbers WILL have changed."


class LineEditError(ValueError):
    """An edit that cannot be made; the message is for the model."""


@dataclass(slots=True)
class _Text:
    lines: list[str]
    newline: str
    final_newline: bool

    @classmethod
    def parse(cls, text: str) -> _Text:
        final = text.endswith("\n") or not text
        lines = text.split("\n")
        if text.endswith("\n") or not text:
            lines.pop()
        crlf = "\r\n" in text and text.count("\r\n") == text.count("\n")
        if crlf:
            lines = [line.removesuffix("\r") for line in lines]
        return cls(lines, "\r\n" if crlf else "\n", final)

    def render(self, lines: list[str]) -> str:
        if not lines:
            return ""
        return self.newline.join(lines) + (self.newline if self.final_newline else "")


def content_lines(content: str) -> list[str]:
    """The lines of ``content`` (one trailing newline ignored; empty content has no lines)."""
    text = content.replace("\r\n", "\n")
    return text.removesuffix("\n").split("\n") if text else []


def parse_line_number(value: object, which: str) -> int:
    """An integer line number from the model (it sends strings).

    Raises:
        LineEditError: not an integer.
    """
    try:
        return int(str(value).strip())
    except ValueError:
        msg = f"Invalid {which} line number, must be a valid number greater than 0 (got `{value}`)"
        raise LineEditError(msg) from None


def add_lines(text: str, start_line: object, content: str) -> str:
    """Insert ``content`` after line ``start_line`` (1-based; 0 inserts before the first line).

    Raises:
        LineEditError: bad line number or empty content.
    """
    doc = _Text.parse(text)
    after = parse_line_number(start_line, "start")
    if after < 0:
        msg = "Start line number must be 0 or greater (0 inserts before the first line)"
        raise LineEditError(msg)
    if after > len(doc.lines):
        msg = f"Start or end line number is out of bounds ({after}, max: {len(doc.lines)})"
        raise LineEditError(msg)
    new = content_lines(content)
    if not new:
        msg = "`content` is empty; there is nothing to add"
        raise LineEditError(msg)
    return doc.render(doc.lines[:after] + new + doc.lines[after:])


def replace_lines(text: str, start_line: object, end_line: object, content: str) -> str:
    """Replace lines ``start_line``..``end_line`` (1-based, inclusive) with ``content``.

    Empty content deletes the lines. Content indented less (or more) than the file at
    ``start_line`` is re-indented consistently.

    Raises:
        LineEditError: bad line numbers, or the content's first/last line does not match the file.
    """
    doc = _Text.parse(text)
    start, end = _checked_range(start_line, end_line, len(doc.lines))
    new = content_lines(content)
    if new:
        _check_anchors(doc.lines, start, end, new)
        new = _reindent(doc.lines[start - 1], new)
    return doc.render(doc.lines[: start - 1] + new + doc.lines[end:])


def _checked_range(start_line: object, end_line: object, total: int) -> tuple[int, int]:
    start = parse_line_number(start_line, "start")
    end = parse_line_number(end_line, "end")
    if start > total or end > total:
        msg = f"Start or end line number is out of bounds ({start} - {end}, max: {total})"
        raise LineEditError(msg)
    if start > end:
        msg = "Start line number must be less than or equal to end line number"
        raise LineEditError(msg)
    if start < 1:
        msg = "Start line number must be greater than 0"
        raise LineEditError(msg)
    return start, end


def _check_anchors(lines: list[str], start: int, end: int, new: list[str]) -> None:
    if start > 1 and new[0].strip() not in lines[start - 1]:
        msg = (
            f"The line on line number {start} reads: `{lines[start - 1]}`, which does not match the first line "
            f"of the content: `{new[0]}`. {_ANCHOR_HELP}"
        )
        raise LineEditError(msg)
    if end < len(lines) and new[-1].strip() not in lines[end - 1]:
        msg = (
            f"The line on line number {end} reads: `{lines[end - 1]}`, which does not match the last line "
            f"of the content: `{new[-1]}`. {_ANCHOR_HELP}"
        )
        raise LineEditError(msg)


_ANCHOR_HELP = (
    "The first and last lines of `content` must repeat the current lines `start_line` and `end_line`. "
    "Read the file again with `read_file_with_line_numbers` and use the new line numbers."
)


def _reindent(file_line: str, new: list[str]) -> list[str]:
    first = new[0]
    if not first.strip() or not file_line.strip().startswith(first.strip()):
        return new
    transform = indent_transform({(indent_of(first), indent_of(file_line))})
    return [transform(line) if line.strip() else line for line in new]
