"""shell_command, git, run_tests and run_coverage through the real LocalExecutor."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kwaak.config import Config
from kwaak.tools.shell import BRANCH_CHANGE_REFUSED, changes_branch, shell_changes_branch
from tests.conftest import git
from tests.tools.conftest import Call, invoke, make_ctx


async def test_shell_command_runs_in_the_workspace(call: Call) -> None:
    result = await call("shell_command", cmd="cat hello.txt && echo err >&2")
    assert result.content == "Hello, world!\nerr"


async def test_shell_command_reports_exit_code_and_no_output(call: Call) -> None:
    assert (await call("shell_command", cmd="echo oops; exit 3")).content == "oops\n[exit code: 3]"
    assert (await call("shell_command", cmd="true")).content == "[the command succeeded with no output]"
    empty = await call("shell_command", cmd="  ")
    assert empty.is_error and "`cmd` is empty" in empty.content


@pytest.mark.parametrize(
    "cmd",
    ["git checkout main", "git switch -c other", "cd src && git checkout -b x", "GIT_X=1 git checkout main"],
)
async def test_shell_command_refuses_branch_changes(call: Call, tmp_git_repo: Path, cmd: str) -> None:
    assert (await call("shell_command", cmd=cmd)).content == BRANCH_CHANGE_REFUSED
    assert git(tmp_git_repo, "branch", "--show-current") == "main"


async def test_shell_command_allows_restoring_files(call: Call, tmp_git_repo: Path) -> None:
    (tmp_git_repo / "hello.txt").write_text("changed\n")
    result = await call("shell_command", cmd="git checkout -- hello.txt")
    assert not result.is_error
    assert (tmp_git_repo / "hello.txt").read_text() == "Hello, world!\n"


async def test_shell_command_output_is_truncated(tmp_git_repo: Path, make_config: Callable[..., Config]) -> None:
    ctx = make_ctx(tmp_git_repo, make_config(limits={"max_tool_output_chars": 5000}))
    result = await invoke(ctx, "shell_command", cmd="seq 1 100000")
    total = sum(len(str(i)) + 1 for i in range(1, 100001)) - 1
    assert len(result.content) < 5300
    assert result.content.startswith("1\n2\n3\n")
    assert result.content.endswith("99999\n100000")
    assert f"the full output has {total} characters in 100000 lines" in result.content


async def test_shell_command_timeout_is_reported(tmp_git_repo: Path, make_config: Callable[..., Config]) -> None:
    ctx = make_ctx(tmp_git_repo, make_config(limits={"tool_timeout_sec": 0.5}))
    result = await invoke(ctx, "shell_command", cmd="echo started; sleep 10")
    assert "[the command was stopped after 0.5 seconds]" in result.content


async def test_git_runs_subcommands(call: Call, tmp_git_repo: Path) -> None:
    (tmp_git_repo / "hello.txt").write_text("changed\n")
    assert "modified:   hello.txt" in (await call("git", command="status")).content
    assert "modified:   hello.txt" in (await call("git", command="git status")).content
    log = await call("git", command='log -1 --format="subject: %s"')
    assert log.content == "subject: Initial commit"


async def test_git_is_not_a_shell(call: Call, tmp_git_repo: Path) -> None:
    result = await call("git", command="status; touch pwned $(touch pwned2)")
    assert "[exit code:" in result.content
    assert not (tmp_git_repo / "pwned").exists()
    assert not (tmp_git_repo / "pwned2").exists()


async def test_git_refuses_branch_changes_but_restores_files(call: Call, tmp_git_repo: Path) -> None:
    git(tmp_git_repo, "branch", "other")
    assert (await call("git", command="checkout other")).content == BRANCH_CHANGE_REFUSED
    assert (await call("git", command="switch other")).content == BRANCH_CHANGE_REFUSED
    assert git(tmp_git_repo, "branch", "--show-current") == "main"
    (tmp_git_repo / "hello.txt").write_text("changed\n")
    assert not (await call("git", command="checkout -- hello.txt")).is_error
    assert (tmp_git_repo / "hello.txt").read_text() == "Hello, world!\n"


async def test_git_argument_errors(call: Call) -> None:
    unbalanced = await call("git", command='commit -m "oops')
    assert unbalanced.is_error and "check the quoting" in unbalanced.content
    empty = await call("git", command="")
    assert empty.is_error and "`command` is empty" in empty.content


def test_branch_change_detection() -> None:
    assert changes_branch(["checkout", "main"])
    assert changes_branch(["-C", "sub", "checkout", "-b", "x"])
    assert changes_branch(["switch", "x"])
    assert not changes_branch(["checkout", "--", "a.txt"])
    assert not changes_branch(["checkout", "HEAD~1", "--", "a.txt"])
    assert not changes_branch(["checkout", "."])
    assert not changes_branch(["status"])
    assert shell_changes_branch("ls; git checkout dev")
    assert not shell_changes_branch("git checkout -- x && git status")
    assert not shell_changes_branch("echo 'git is fun'")


async def test_run_tests_and_coverage_use_configured_commands(
    tmp_git_repo: Path, make_config: Callable[..., Config]
) -> None:
    config = make_config(commands={"test": "echo tests ran; exit 1", "coverage": "echo covered 87%"})
    ctx = make_ctx(tmp_git_repo, config)
    assert (await invoke(ctx, "run_tests")).content == "tests ran\n[exit code: 1]"
    assert (await invoke(ctx, "run_coverage")).content == "covered 87%"
