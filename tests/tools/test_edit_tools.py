"""patch_file, replace_lines and add_lines through the registry and a real LocalExecutor."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kwaak.config import Config
from kwaak.tools.base import ToolContext
from kwaak.tools.lines import REREAD
from tests.tools.conftest import Call, invoke, make_ctx

CALC_PATCH = """--- a/src/calc.py
+++ b/src/calc.py
@@ -7,3 +7,4 @@
 def add(a, b):
     \"\"\"Add two numbers.\"\"\"
-    return a + b
+    result = a + b
+    return result
"""


@pytest.fixture
def line_ctx(tmp_git_repo: Path, make_config: Callable[..., Config]) -> ToolContext:
    (tmp_git_repo / "code.py").write_text("def f():\n    a = 1\n    b = 2\n    return a + b\n")
    return make_ctx(tmp_git_repo, make_config(agent_edit_mode="line"))


async def test_patch_file_applies_with_wrong_line_numbers(call: Call, tmp_git_repo: Path) -> None:
    result = await call("patch_file", file_name="src/calc.py", patch=CALC_PATCH)
    assert result.content.startswith("Patch applied successfully to `src/calc.py` (1 hunk).")
    assert "hunk 1 was applied at line 1 (header said 7)" in result.content
    assert (tmp_git_repo / "src" / "calc.py").read_text() == (
        'def add(a, b):\n    """Add two numbers."""\n    result = a + b\n    return result\n'
    )


async def test_patch_file_wrong_header_on_one_line_file(call: Call, tmp_git_repo: Path) -> None:
    (tmp_git_repo / "one.txt").write_text("abc\n")
    result = await call(
        "patch_file", file_name="one.txt", patch="--- a/one.txt\n+++ b/one.txt\n@@ -3,1 +1,1 @@\n-abc\n+abd\n"
    )
    assert not result.is_error
    assert (tmp_git_repo / "one.txt").read_text() == "abd\n"


async def test_failed_patch_leaves_file_byte_identical(call: Call, tmp_git_repo: Path) -> None:
    target = tmp_git_repo / "src" / "calc.py"
    target.write_bytes(b"def add(a, b):\r\n    return a + b\r\n\r\ndef sub(a, b):\r\n    return a - b")
    before = target.read_bytes()
    patch = (
        "@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a + b\n+    return b + a\n"
        "@@ -4,2 +4,2 @@\n def sub(a, b):\n-    return b - a\n+    return -(b - a)\n"
    )
    result = await call("patch_file", file_name="src/calc.py", patch=patch)
    assert result.is_error
    assert "Failed to apply the patch to `src/calc.py`: 1 of 2 hunks could not be applied" in result.content
    assert "Hunk 2 (`@@ -4,2 +4,2 @@`)" in result.content
    assert "5|    return a - b" in result.content
    assert target.read_bytes() == before


async def test_patch_file_refuses_binary_missing_and_empty(call: Call, tmp_git_repo: Path) -> None:
    (tmp_git_repo / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (tmp_git_repo / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    cases = [
        ("image.png", CALC_PATCH, "binary file"),
        ("missing.py", CALC_PATCH, "does not exist"),
        ("latin1.txt", CALC_PATCH, "not UTF-8 text"),
        ("src/calc.py", "   ", "`patch` is empty"),
        ("../calc.py", CALC_PATCH, "outside the project"),
    ]
    for name, patch, expected in cases:
        result = await call("patch_file", file_name=name, patch=patch)
        assert result.is_error, name
        assert expected in result.content, (name, result.content)
    assert (tmp_git_repo / "latin1.txt").read_bytes() == "caf\xe9\n".encode("latin-1")


async def test_patch_file_missing_argument_is_reported(call: Call) -> None:
    result = await call("patch_file", file_name="src/calc.py")
    assert result.is_error and "arguments missing for tool `patch_file`: patch" in result.content


async def test_replace_lines_basic_and_reread_message(line_ctx: ToolContext, tmp_git_repo: Path) -> None:
    result = await invoke(
        line_ctx,
        "replace_lines",
        file_name="code.py",
        start_line="2",
        end_line="4",
        content="    a = 1\n    b = 3\n    return a + b\n",
    )
    assert result.content == f"Successfully replaced content in code.py. {REREAD}"
    assert (tmp_git_repo / "code.py").read_text() == "def f():\n    a = 1\n    b = 3\n    return a + b\n"


async def test_replace_lines_first_line_and_indentation_repair(line_ctx: ToolContext, tmp_git_repo: Path) -> None:
    first = await invoke(
        line_ctx, "replace_lines", file_name="code.py", start_line="1", end_line="2", content="def g():\n    a = 1"
    )
    assert not first.is_error, first.content
    result = await invoke(
        line_ctx, "replace_lines", file_name="code.py", start_line="2", end_line="3", content="a = 1\nc = 5\nb = 2"
    )
    assert not result.is_error, result.content
    assert (tmp_git_repo / "code.py").read_text() == "def g():\n    a = 1\n    c = 5\n    b = 2\n    return a + b\n"


@pytest.mark.parametrize(
    ("start", "end", "content", "message"),
    [
        ("2", "9", "x", "Start or end line number is out of bounds (2 - 9, max: 4)"),
        ("3", "2", "x", "Start line number must be less than or equal to end line number"),
        ("0", "0", "x", "Start line number must be greater than 0"),
        ("2", "0", "x", "Start line number must be less than or equal to end line number"),
        ("two", "3", "x", "Invalid start line number, must be a valid number greater than 0"),
        ("2", "", "x", "Invalid end line number"),
        ("2", "3", "    b = 2\n    a = 1", "The line on line number 2 reads: `    a = 1`, which does not match"),
        ("2", "3", "    a = 1\n    c = 9", "line number 3 reads: `    b = 2`, which does not match the last"),
    ],
)
async def test_replace_lines_validation(
    line_ctx: ToolContext, tmp_git_repo: Path, start: str, end: str, content: str, message: str
) -> None:
    before = (tmp_git_repo / "code.py").read_bytes()
    result = await invoke(
        line_ctx, "replace_lines", file_name="code.py", start_line=start, end_line=end, content=content
    )
    assert result.is_error
    assert message in result.content
    assert (tmp_git_repo / "code.py").read_bytes() == before


async def test_replace_lines_missing_file(line_ctx: ToolContext) -> None:
    result = await invoke(line_ctx, "replace_lines", file_name="nope.py", start_line="1", end_line="1", content="x")
    assert result.is_error and "does not exist" in result.content


async def test_add_lines_inserts_after_line(line_ctx: ToolContext, tmp_git_repo: Path) -> None:
    result = await invoke(line_ctx, "add_lines", file_name="code.py", start_line="1", content='    """Doc."""\n')
    assert result.content == f"Successfully added content to code.py at line 1. {REREAD}"
    top = await invoke(line_ctx, "add_lines", file_name="code.py", start_line="0", content="import os\n")
    assert not top.is_error
    assert (tmp_git_repo / "code.py").read_text() == (
        'import os\ndef f():\n    """Doc."""\n    a = 1\n    b = 2\n    return a + b\n'
    )


@pytest.mark.parametrize(
    ("start", "content", "message"),
    [
        ("9", "x", "Start or end line number is out of bounds (9, max: 4)"),
        ("-1", "x", "Start line number must be 0 or greater"),
        ("one", "x", "Invalid start line number"),
        ("1", "", "`content` is empty"),
    ],
)
async def test_add_lines_validation(line_ctx: ToolContext, start: str, content: str, message: str) -> None:
    result = await invoke(line_ctx, "add_lines", file_name="code.py", start_line=start, content=content)
    assert result.is_error
    assert message in result.content


async def test_line_tools_accept_numbers_as_json_numbers(line_ctx: ToolContext, tmp_git_repo: Path) -> None:
    result = await invoke(line_ctx, "add_lines", file_name="code.py", start_line=4, content="# end")
    assert not result.is_error, result.content
    assert (tmp_git_repo / "code.py").read_text().endswith("    return a + b\n# end\n")
