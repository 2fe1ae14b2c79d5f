"""search_code (ripgrep from the venv) and explain_code (the session's index service)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kwaak.config import Config
from kwaak.errors import IndexingError
from kwaak.executors.local import LocalExecutor
from kwaak.tools.code_search import MAX_COLUMNS, grep_argv, ripgrep_binary
from tests.tools.conftest import Call, invoke, make_ctx


def test_ripgrep_binary_is_found_on_the_host() -> None:
    assert Path(ripgrep_binary("local")).is_file()
    assert ripgrep_binary("docker") == "rg"


async def test_search_code_finds_literal_case_insensitive(call: Call) -> None:
    result = await call("search_code", query="RETURN A + B")
    assert result.content == "src/calc.py:3:    return a + b"
    brackets = await call("search_code", query="add(1, 2)")
    assert brackets.content == "tests/test_calc.py:5:    assert add(1, 2) == 3"


async def test_search_code_includes_hidden_files_but_not_git(call: Call, tmp_git_repo: Path) -> None:
    (tmp_git_repo / ".env.example").write_text("SECRET_NAME=value\n")
    assert (await call("search_code", query="secret_name")).content == ".env.example:1:SECRET_NAME=value"
    assert (await call("search_code", query="Initial commit")).content == "No matches found for `Initial commit`."


async def test_search_code_query_is_never_an_option_or_shell(call: Call, tmp_git_repo: Path) -> None:
    (tmp_git_repo / "flags.txt").write_text("use --files-with-matches here\n")
    result = await call("search_code", query="--files-with-matches")
    assert result.content == "flags.txt:1:use --files-with-matches here"
    await call("search_code", query="$(touch pwned)")
    assert not (tmp_git_repo / "pwned").exists()


async def test_search_code_previews_long_lines(call: Call, tmp_git_repo: Path) -> None:
    (tmp_git_repo / "long.txt").write_text("needle " + "x" * 5000 + "\n")
    result = await call("search_code", query="needle")
    assert result.content.startswith("long.txt:1:needle xxx")
    assert len(result.content) < MAX_COLUMNS + 100


async def test_search_code_empty_query_is_an_error(call: Call) -> None:
    result = await call("search_code", query=" ")
    assert result.is_error and "`query` is empty" in result.content


async def test_grep_fallback_matches_ripgrep_semantics(tmp_git_repo: Path) -> None:
    result = await LocalExecutor(tmp_git_repo).exec(grep_argv("RETURN a + b"))
    assert result.output.strip() == "./src/calc.py:3:    return a + b"


async def test_explain_code_uses_the_explain_service(tmp_git_repo: Path, make_config: Callable[..., Config]) -> None:
    questions: list[str] = []

    async def explain(query: str) -> str:
        questions.append(query)
        return f"`add` lives in src/calc.py ({query})"

    ctx = make_ctx(tmp_git_repo, make_config(), explain=explain)
    result = await invoke(ctx, "explain_code", query="where is addition?")
    assert result.content == "`add` lives in src/calc.py (where is addition?)"
    assert questions == ["where is addition?"]


async def test_explain_code_without_index_points_to_search_code(call: Call) -> None:
    result = await call("explain_code", query="anything")
    assert result.is_error
    assert "index is not available" in result.content and "search_code" in result.content


async def test_explain_code_index_failure_is_a_tool_error(
    tmp_git_repo: Path, make_config: Callable[..., Config]
) -> None:
    async def broken(query: str) -> str:
        raise IndexingError("the index is locked", hint="wait")

    ctx = make_ctx(tmp_git_repo, make_config(), explain=broken)
    result = await invoke(ctx, "explain_code", query="anything")
    assert result.is_error and "the index is locked" in result.content
