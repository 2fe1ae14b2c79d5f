"""read_file, read_file_with_line_numbers, write_file, search_file and reset_file on a real repo."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kwaak.config import Config
from kwaak.tools.base import ToolContext
from tests.conftest import git
from tests.tools.conftest import Call, invoke, make_ctx


def whole_ctx(repo: Path, make_config: Callable[..., Config], **overrides: object) -> ToolContext:
    return make_ctx(repo, make_config(agent_edit_mode="whole", **overrides))


async def test_read_file_returns_content(tmp_git_repo: Path, make_config: Callable[..., Config]) -> None:
    result = await invoke(whole_ctx(tmp_git_repo, make_config), "read_file", file_name="hello.txt")
    assert (result.content, result.is_error) == ("Hello, world!\n", False)


async def test_read_file_accepts_absolute_path_inside_workspace(
    tmp_git_repo: Path, make_config: Callable[..., Config]
) -> None:
    ctx = whole_ctx(tmp_git_repo, make_config)
    result = await invoke(ctx, "read_file", file_name=str(tmp_git_repo / "src" / "calc.py"))
    assert result.content.startswith("def add(a, b):")


async def test_read_file_errors_are_clear(tmp_git_repo: Path, make_config: Callable[..., Config]) -> None:
    ctx = whole_ctx(tmp_git_repo, make_config)
    (tmp_git_repo / "blob.bin").write_bytes(b"\x89PNG\x00\x01\x02")
    (tmp_git_repo / "empty.txt").write_text("")
    cases = {
        "missing.txt": "File `missing.txt` does not exist",
        "src": "`src` is a directory",
        "blob.bin": "`blob.bin` is a binary file (7 bytes)",
        "../outside.txt": "outside the project",
        "/etc/passwd": "outside the project",
        "": "`file_name` must be a path",
    }
    for name, expected in cases.items():
        result = await invoke(ctx, "read_file", file_name=name)
        assert result.is_error, name
        assert expected in result.content, (name, result.content)
    empty = await invoke(ctx, "read_file", file_name="empty.txt")
    assert empty.content == "[`empty.txt` is empty]"


async def test_read_file_refuses_symlink_escaping_workspace(
    tmp_git_repo: Path, tmp_path: Path, make_config: Callable[..., Config]
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret\n")
    (tmp_git_repo / "link.txt").symlink_to(secret)
    result = await invoke(whole_ctx(tmp_git_repo, make_config), "read_file", file_name="link.txt")
    assert result.is_error
    assert "outside the project" in result.content
    assert "top secret" not in result.content


async def test_huge_file_is_truncated_with_marker(tmp_git_repo: Path, make_config: Callable[..., Config]) -> None:
    ctx = whole_ctx(tmp_git_repo, make_config, limits={"max_tool_output_chars": 2000})
    lines = [f"line {i:05d}" for i in range(5000)]
    (tmp_git_repo / "big.txt").write_text("\n".join(lines) + "\n")
    result = await invoke(ctx, "read_file", file_name="big.txt")
    assert len(result.content) < 2300
    assert result.content.startswith("line 00000\n")
    assert result.content.rstrip().endswith("line 04999")
    assert f"the full output has {len(lines) * 11} characters" in result.content
    assert "sed -n" in result.content


async def test_read_file_with_line_numbers_format(call: Call) -> None:
    result = await call("read_file_with_line_numbers", file_name="src/calc.py")
    assert result.content == '1|def add(a, b):\n2|    """Add two numbers."""\n3|    return a + b'


async def test_write_file_creates_directories(call: Call, tmp_git_repo: Path) -> None:
    result = await call("write_file", file_name="pkg/sub/new.py", content="x = 1\n")
    assert result.content == "File written successfully to pkg/sub/new.py"
    assert (tmp_git_repo / "pkg" / "sub" / "new.py").read_text() == "x = 1\n"


async def test_write_file_odd_names_are_literal(call: Call, tmp_git_repo: Path) -> None:
    for name in ["with space.txt", "quote'\"s.txt", "$(touch pwned).txt", "`touch pwned2`.txt"]:
        result = await call("write_file", file_name=name, content="data\n")
        assert not result.is_error, result.content
        assert (tmp_git_repo / name).read_text() == "data\n"
    assert not (tmp_git_repo / "pwned").exists()
    assert not (tmp_git_repo / "pwned2").exists()


async def test_write_file_refuses_outside_and_symlinked_dirs(call: Call, tmp_git_repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (tmp_git_repo / "escape").symlink_to(outside, target_is_directory=True)
    for name in ["../evil.txt", "escape/evil.txt", str(tmp_path / "evil.txt")]:
        result = await call("write_file", file_name=name, content="evil")
        assert result.is_error, name
        assert "outside the project" in result.content
    assert list(outside.iterdir()) == []
    assert not (tmp_path / "evil.txt").exists()


async def test_search_file_lists_and_filters(call: Call, tmp_git_repo: Path) -> None:
    (tmp_git_repo / ".github" / "workflows").mkdir(parents=True)
    (tmp_git_repo / ".github" / "workflows" / "CI.yml").write_text("on: push\n")
    (tmp_git_repo / ".gitignore").write_text("ignored.log\n")
    (tmp_git_repo / "ignored.log").write_text("noise\n")
    (tmp_git_repo / "calc(1).txt").write_text("copy\n")

    listing = (await call("search_file", file_name="")).content.splitlines()
    assert {"hello.txt", "src/calc.py", "tests/test_calc.py", "src/", ".github/workflows/CI.yml"} <= set(listing)
    assert not any(line.startswith(".git/") for line in listing)
    assert "ignored.log" not in listing

    assert (await call("search_file", file_name="CALC")).content.splitlines() == [
        "calc(1).txt",
        "src/calc.py",
        "tests/test_calc.py",
    ]
    assert (await call("search_file", file_name="ci.yml")).content == ".github/workflows/CI.yml"
    assert (await call("search_file", file_name=r"^src/.*\.py$")).content == "src/calc.py"
    assert (await call("search_file", file_name="calc(1")).content == "calc(1).txt"  # bad regex: literal
    assert (await call("search_file", file_name="nothing-like-this")).content == (
        "No files found matching `nothing-like-this`."
    )


async def test_search_file_skips_deleted_files(call: Call, tmp_git_repo: Path) -> None:
    (tmp_git_repo / "hello.txt").unlink()
    assert "hello.txt" not in (await call("search_file", file_name="")).content.splitlines()


async def test_search_file_outside_git_uses_find(tmp_path: Path, make_config: Callable[..., Config]) -> None:
    plain = tmp_path / "plain"
    (plain / "a").mkdir(parents=True)
    (plain / "a" / "one.txt").write_text("1")
    (plain / ".hidden").write_text("h")
    ctx = make_ctx(plain, make_config(), workspace=False)
    result = await invoke(ctx, "search_file", file_name="")
    assert result.content.splitlines() == [".hidden", "a/", "a/one.txt"]


async def test_reset_file_restores_start_state(call: Call, tmp_git_repo: Path) -> None:
    (tmp_git_repo / "hello.txt").write_text("changed\n")
    result = await call("reset_file", file_name="hello.txt")
    assert result.content == "`hello.txt` was reset to its state at the start of the task."
    assert (tmp_git_repo / "hello.txt").read_text() == "Hello, world!\n"


async def test_reset_file_undoes_committed_changes_and_new_files(call: Call, tmp_git_repo: Path) -> None:
    (tmp_git_repo / "src" / "calc.py").write_text("broken\n")
    (tmp_git_repo / "new file.txt").write_text("new\n")
    git(tmp_git_repo, "add", ".")
    git(tmp_git_repo, "commit", "-q", "-m", "agent work")
    assert not (await call("reset_file", file_name="src/calc.py")).is_error
    assert (tmp_git_repo / "src" / "calc.py").read_text().startswith("def add(a, b):")
    removed = await call("reset_file", file_name="new file.txt")
    assert removed.content == "`new file.txt` did not exist at the start of the task, so it was removed."
    assert not (tmp_git_repo / "new file.txt").exists()


async def test_reset_file_refuses_paths_outside(call: Call, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    result = await call("reset_file", file_name="../victim.txt")
    assert result.is_error
    assert victim.read_text() == "keep me"
