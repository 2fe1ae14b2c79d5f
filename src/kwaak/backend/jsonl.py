"""Append-only JSON-lines logs that survive torn writes and garbage.

Each record is one line written whole with one ``write``. A crash (``kill -9``, power loss) can
leave a torn last line; a later append would then continue that line and hide the new record. So a
log is *checked* before its owner appends to it: a torn or corrupt tail is truncated back to the
last complete record, and corrupt lines in the middle are set aside (the damaged file is kept as
``<name>.corrupt-<time>``) while every complete record, also those glued behind a torn line, is
kept. Each repair is reported with the file's path.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def append(path: Path, record: dict[str, Any]) -> None:
    """Append one whole JSON line (a failed write is truncated away, never left torn)."""
    data = memoryview((json.dumps(record, ensure_ascii=False, default=str) + "\n").encode())
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        try:
            while data:
                data = data[os.write(fd, data) :]
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)
            raise
    finally:
        os.close(fd)


@dataclass
class Scan:
    """What reading a log found."""

    records: list[dict[str, Any]] = field(default_factory=list)
    bad_lines: list[int] = field(default_factory=list)
    """1-based numbers of lines that were not (wholly) records."""
    salvaged: int = 0
    """Records recovered from the end of a damaged line (an append glued behind a torn line)."""
    good_bytes: bytes = b""
    """The file as it should be: every complete record, one per line."""
    torn_tail_only: bool = False
    """The only damage is an unterminated last line (truncating is enough)."""
    size: int = 0
    tail_start: int = 0
    """Where the last line starts (the truncation point for a torn tail)."""
    unterminated: bool = False
    """The last line is a complete record without its newline."""


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _salvage(line: bytes) -> dict[str, Any] | None:
    """The complete record at the end of a line that starts with a torn one."""
    start = line.find(b'{"', 1)
    while start > 0:
        record = _parse(line[start:])
        if record is not None:
            return record
        start = line.find(b'{"', start + 1)
    return None


def scan(path: Path) -> Scan:
    """Read every complete record of ``path`` (an absent file is empty)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Scan()
    result = Scan(size=len(data))
    good: list[bytes] = []
    lines = data.split(b"\n")
    last = len(lines) - 1  # after the final newline: b"" for a clean file
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        record = _parse(line)
        if record is None:
            result.bad_lines.append(number)
            record = _salvage(line)
            if record is not None:
                result.salvaged += 1
        if record is not None:
            result.records.append(record)
            good.append(json.dumps(record, ensure_ascii=False).encode() if number in result.bad_lines else line)
    result.good_bytes = b"".join(g + b"\n" for g in good)
    result.torn_tail_only = result.bad_lines == [last + 1] and not result.salvaged
    result.tail_start = data.rfind(b"\n") + 1
    result.unterminated = bool(data) and not data.endswith(b"\n") and not result.bad_lines
    return result


def check(path: Path, *, repair: bool) -> tuple[list[dict[str, Any]], str | None]:
    """The complete records of ``path`` and a one-line report when it was damaged.

    With ``repair`` (the caller owns the file), the file is fixed on disk so that later appends
    follow the last complete record.
    """
    result = scan(path)
    if not result.bad_lines and not result.unterminated:
        return result.records, None
    if not repair:
        lines = ", ".join(str(n) for n in result.bad_lines[:5])
        return result.records, f"{path}: damaged line(s) {lines} skipped ({len(result.records)} records read)"
    if result.unterminated:
        with open(path, "ab") as fh:
            fh.write(b"\n")
        return result.records, f"{path}: completed an unterminated last line; {len(result.records)} records kept"
    if result.torn_tail_only:
        with open(path, "r+b") as fh:
            fh.truncate(result.tail_start)
        dropped = result.size - result.tail_start
        report = f"{path}: truncated a torn last line ({dropped} bytes); {len(result.records)} records kept"
        return result.records, report
    backup = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
    path.replace(backup)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(result.good_bytes)
    tmp.replace(path)
    lines = ", ".join(str(n) for n in result.bad_lines[:5])
    report = (
        f"{path}: corrupt line(s) {lines} set aside ({len(result.records)} records kept"
        f"{f', {result.salvaged} recovered from torn lines' if result.salvaged else ''}); "
        f"the damaged file is kept as {backup.name}"
    )
    return result.records, report
