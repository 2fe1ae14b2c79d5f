"""Pure helpers: line edits (line endings, edge cases) and output truncation."""

from __future__ import annotations

import pytest

from kwaak.tools.common import truncate
from kwaak.tools.lines import LineEditError, add_lines, content_lines, replace_lines


def test_replace_lines_keeps_crlf_and_missing_final_newline() -> None:
    assert replace_lines("a\r\nb\r\nc\r\n", "2", "3", "b\nB\nc") == "a\r\nb\r\nB\r\nc\r\n"
    assert replace_lines("a\nb\nc", "3", "3", "c\nd") == "a\nb\nc\nd"


def test_replace_lines_empty_content_deletes_the_range() -> None:
    assert replace_lines("a\nb\nc\nd\n", "2", "3", "") == "a\nd\n"
    assert replace_lines("only\n", "1", "1", "") == ""


def test_replace_lines_repairs_under_and_over_indentation() -> None:
    src = "class A:\n    def f(self):\n        return 1\n    x = 1\n"
    assert replace_lines(src, "2", "4", "def f(self):\n    return 2\nx = 1") == (
        "class A:\n    def f(self):\n        return 2\n    x = 1\n"
    )
    assert replace_lines(src, "2", "4", "        def f(self):\n            return 3\n        x = 1") == (
        "class A:\n    def f(self):\n        return 3\n    x = 1\n"
    )


def test_replace_lines_tab_file_with_space_content() -> None:
    src = "func f() {\n\tif x {\n\t\treturn\n\t}\n}\n"
    assert replace_lines(src, "2", "4", "    if x {\n        log()\n        return\n    }") == (
        "func f() {\n\tif x {\n\t\tlog()\n\t\treturn\n\t}\n}\n"
    )


def test_add_lines_into_empty_file_and_at_end() -> None:
    assert add_lines("", "0", "first\nsecond\n") == "first\nsecond\n"
    assert add_lines("a\nb", "2", "c") == "a\nb\nc"
    with pytest.raises(LineEditError, match="out of bounds"):
        add_lines("", "1", "x")


def test_content_lines() -> None:
    assert content_lines("") == []
    assert content_lines("\n") == [""]
    assert content_lines("a\r\nb\n") == ["a", "b"]


def test_truncate_keeps_head_and_tail_with_marker() -> None:
    text = "".join(f"{i:04d}\n" for i in range(2000))
    out = truncate(text, 1000, hint="narrow it down")
    assert out.startswith("0000\n0001\n")
    assert out.endswith("1998\n1999\n")
    assert "characters omitted; the full output has 10000 characters in 2001 lines; narrow it down" in out
    assert len(out) < 1200
    assert truncate("short", 1000) == "short"


def test_truncate_without_newlines() -> None:
    out = truncate("x" * 10_000, 2000)
    assert out.startswith("x" * 1200)
    assert out.endswith("x" * 800)
    assert "8000 characters omitted" in out
