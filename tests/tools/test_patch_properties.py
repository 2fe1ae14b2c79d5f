"""Property tests of :func:`kwaak.tools.patch.apply_patch` against diffs made by :mod:`difflib`."""

from __future__ import annotations

import difflib
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kwaak.tools.patch import PatchError, PatchResult, apply_patch

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# A small alphabet makes repeated lines (ambiguous places) common.
LINE = st.sampled_from(["", " ", "a", "b", "x = 1", "    x = 1", "\tx = 1", "}", "return a", "# note"])
HEADER = re.compile(r"^@@ -(\d+)((?:,\d+)?) \+(\d+)((?:,\d+)?) @@$")


def text_of(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def unified(a: list[str], b: list[str], context: int) -> str:
    return "\n".join(difflib.unified_diff(a, b, "a/f", "b/f", lineterm="", n=context)) + "\n"


@SETTINGS
@given(a=st.lists(LINE, max_size=30), b=st.lists(LINE, max_size=30), context=st.integers(0, 3))
def test_difflib_patch_turns_source_into_target(a: list[str], b: list[str], context: int) -> None:
    if a == b:
        return
    assert apply_patch(text_of(a), unified(a, b, context)).text == text_of(b)


@st.composite
def edited_unique_lines(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    """Unique source lines and a target made by deleting, replacing and inserting lines."""
    a = [f"line {i}" for i in range(draw(st.integers(1, 40)))]
    b: list[str] = []
    new = 0
    for line in a:
        action = draw(st.sampled_from(["keep", "keep", "keep", "drop", "replace", "insert"]))
        if action in ("replace", "insert"):
            b.append(f"new {new}")
            new += 1
        if action in ("keep", "insert"):
            b.append(line)
    if draw(st.booleans()):
        b.append(f"new {new}")
    return a, b


def shift_headers(patch: str, shift: int, *, bare: bool) -> str:
    def rewrite(line: str) -> str:
        match = HEADER.match(line)
        if match is None:
            return line
        if bare:
            return "@@"
        old = max(int(match.group(1)) + shift, 1)
        return f"@@ -{old}{match.group(2)} +{max(int(match.group(3)) + shift, 1)}{match.group(4)} @@"

    return "\n".join(rewrite(line) for line in patch.split("\n"))


@SETTINGS
@given(pair=edited_unique_lines(), context=st.integers(1, 3), shift=st.integers(-8, 8), bare=st.booleans())
def test_wrong_line_numbers_are_relocated_by_content(
    pair: tuple[list[str], list[str]], context: int, shift: int, bare: bool
) -> None:
    a, b = pair
    if a == b:
        return
    patch = shift_headers(unified(a, b, context), shift, bare=bare)
    assert apply_patch(text_of(a), patch).text == text_of(b)


@SETTINGS
@given(pair=edited_unique_lines(), context=st.integers(0, 3), data=st.data())
def test_a_hunk_with_a_wrong_removed_line_fails_and_is_named(
    pair: tuple[list[str], list[str]], context: int, data: st.DataObject
) -> None:
    a, b = pair
    lines = unified(a, b, context).split("\n")
    removed = [i for i, line in enumerate(lines) if line.startswith("-") and not line.startswith("---")]
    if not removed:
        return
    target = data.draw(st.sampled_from(removed))
    lines[target] = "-this line is not in the file"
    hunk_number = sum(1 for line in lines[:target] if line.startswith("@@"))
    try:
        apply_patch(text_of(a), "\n".join(lines))
    except PatchError as exc:
        assert f"Hunk {hunk_number} " in str(exc)
        assert [failure.hunk.number for failure in exc.failures] == [hunk_number]
    else:
        raise AssertionError("a hunk removing a line that does not exist must fail")


@SETTINGS
@given(
    original=st.text(alphabet="ab \t\n\r{}", max_size=80),
    patch=st.text(alphabet="@-+ ab\t\n\r\\,0123{}", max_size=120),
)
def test_arbitrary_input_either_applies_or_raises_patch_error(original: str, patch: str) -> None:
    try:
        result = apply_patch(original, patch)
    except PatchError as exc:
        assert str(exc)
    else:
        assert isinstance(result, PatchResult)
        assert isinstance(result.text, str)


@SETTINGS
@given(pair=edited_unique_lines(), context=st.integers(1, 3), pad=st.sampled_from([" ", "\t", "  \t"]))
def test_trailing_whitespace_on_context_lines_is_tolerated(
    pair: tuple[list[str], list[str]], context: int, pad: str
) -> None:
    a, b = pair
    if a == b:
        return
    lines = unified(a, b, context).split("\n")
    drifted = [line + pad if line.startswith(" ") else line for line in lines]
    assert apply_patch(text_of(a), "\n".join(drifted)).text == text_of(b)


@SETTINGS
@given(pair=edited_unique_lines(), context=st.integers(1, 3), indent=st.sampled_from(["  ", "    ", "\t"]))
def test_consistently_over_indented_hunks_are_reindented(
    pair: tuple[list[str], list[str]], context: int, indent: str
) -> None:
    a, b = pair
    if a == b:
        return
    lines = unified(a, b, context).split("\n")
    body = (" ", "-", "+")
    drifted = [
        line[0] + indent + line[1:] if line.startswith(body) and not line.startswith(("---", "+++")) else line
        for line in lines
    ]
    assert apply_patch(text_of(a), "\n".join(drifted)).text == text_of(b)
