from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kwaak.errors import DirtyRepository, GitError
from kwaak.git.diffs import agent_diff, pull_into_checkout, pulled_branch
from kwaak.git.workspace import AgentWorkspace, create_workspace
from tests.conftest import git
from tests.git.conftest import checkout_snapshot


async def _agent_with_changes(repo: Path, tmp_path: Path) -> AgentWorkspace:
    """An agent that committed one change, left one uncommitted, added an untracked and an ignored file."""
    (repo / ".gitignore").write_text("*.log\n")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-q", "-m", "ignore logs")
    ws = await create_workspace(repo, worktrees_dir=tmp_path / "wt", branch="kwaak/diff-1", session_id="d1")
    (ws.path / "src" / "calc.py").write_text("def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n")
    git(ws.path, "commit", "-q", "-am", "add sub")
    (ws.path / "hello.txt").write_text("Hello, agents!\n")
    (ws.path / "docs").mkdir()
    (ws.path / "docs" / "new.md").write_text("# New\n")
    (ws.path / "debug.log").write_text("noise\n")
    (ws.path / "blob.bin").write_bytes(bytes(range(256)))
    return ws


async def test_agent_diff_has_committed_uncommitted_and_untracked(tmp_git_repo: Path, tmp_path: Path) -> None:
    ws = await _agent_with_changes(tmp_git_repo, tmp_path)
    index_before = git(ws.path, "ls-files", "--stage")
    diff = await agent_diff(ws.path, ws.start_ref)
    files = [line.split(" b/")[-1] for line in diff.splitlines() if line.startswith("diff --git")]
    assert files == ["blob.bin", "docs/new.md", "hello.txt", "src/calc.py"]
    assert "+def sub(a, b):" in diff and "+Hello, agents!" in diff and "+# New" in diff
    assert "\x1b[" not in diff
    assert git(ws.path, "ls-files", "--stage") == index_before, "the agent's index is not touched"
    assert "debug.log" not in diff


async def test_agent_diff_is_empty_without_changes(tmp_git_repo: Path, tmp_path: Path) -> None:
    ws = await create_workspace(tmp_git_repo, worktrees_dir=tmp_path / "wt", branch="kwaak/none-1", session_id="n1")
    assert await agent_diff(ws.path, ws.start_ref) == ""


async def test_pull_creates_one_commit_on_a_pulled_branch(tmp_git_repo: Path, tmp_path: Path) -> None:
    ws = await _agent_with_changes(tmp_git_repo, tmp_path)
    (tmp_git_repo / "user-notes.txt").write_text("untracked files of the user are fine\n")
    before = checkout_snapshot(tmp_git_repo)
    target = await pull_into_checkout(tmp_git_repo, ws.path, ws.branch, ws.start_ref)

    assert target == pulled_branch(ws.branch) == "kwaak/diff-1-pulled"
    assert checkout_snapshot(tmp_git_repo) == before
    assert git(tmp_git_repo, "rev-parse", f"{target}^") == git(tmp_git_repo, "rev-parse", "HEAD")
    assert git(tmp_git_repo, "log", "-1", "--format=%s", target) == "Applied diff from kwaak/diff-1"
    assert git(tmp_git_repo, "show", f"{target}:hello.txt") == "Hello, agents!"
    assert "def sub" in git(tmp_git_repo, "show", f"{target}:src/calc.py")
    names = git(tmp_git_repo, "diff", "--name-only", "HEAD", target).splitlines()
    assert names == ["blob.bin", "docs/new.md", "hello.txt", "src/calc.py"]
    blob = subprocess_bytes(tmp_git_repo, "show", f"{target}:blob.bin")
    assert blob == bytes(range(256))

    # Pulling again replaces the branch with the latest net diff.
    (ws.path / "hello.txt").write_text("Hello again!\n")
    await pull_into_checkout(tmp_git_repo, ws.path, ws.branch, ws.start_ref)
    assert git(tmp_git_repo, "show", f"{target}:hello.txt") == "Hello again!"
    assert git(tmp_git_repo, "rev-list", "--count", f"HEAD..{target}") == "1"


def subprocess_bytes(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, check=True).stdout


async def test_pull_on_top_of_newer_user_commits(tmp_git_repo: Path, tmp_path: Path) -> None:
    ws = await _agent_with_changes(tmp_git_repo, tmp_path)
    (tmp_git_repo / "README.md").write_text("user moved on\n")
    git(tmp_git_repo, "add", "README.md")
    git(tmp_git_repo, "commit", "-q", "-m", "user work")
    target = await pull_into_checkout(tmp_git_repo, ws.path, ws.branch, ws.start_ref)
    assert git(tmp_git_repo, "show", f"{target}:README.md") == "user moved on"
    assert git(tmp_git_repo, "show", f"{target}:hello.txt") == "Hello, agents!"


async def test_pull_refuses_dirty_checkout(tmp_git_repo: Path, tmp_path: Path) -> None:
    ws = await _agent_with_changes(tmp_git_repo, tmp_path)
    (tmp_git_repo / "hello.txt").write_text("user edit\n")
    before = checkout_snapshot(tmp_git_repo)
    with pytest.raises(DirtyRepository) as info:
        await pull_into_checkout(tmp_git_repo, ws.path, ws.branch, ws.start_ref)
    assert info.value.message == "Cannot pull diff, working directory is dirty"
    assert info.value.hint
    assert checkout_snapshot(tmp_git_repo) == before
    assert not git(tmp_git_repo, "branch", "--list", pulled_branch(ws.branch))


async def test_pull_conflict_and_nothing_to_pull(tmp_git_repo: Path, tmp_path: Path) -> None:
    ws = await _agent_with_changes(tmp_git_repo, tmp_path)
    (tmp_git_repo / "hello.txt").write_text("the user rewrote this line too\n")
    git(tmp_git_repo, "commit", "-q", "-am", "conflicting")
    before = checkout_snapshot(tmp_git_repo)
    with pytest.raises(GitError) as info:
        await pull_into_checkout(tmp_git_repo, ws.path, ws.branch, ws.start_ref)
    assert info.value.hint and f"git merge {ws.branch}" in info.value.hint
    assert checkout_snapshot(tmp_git_repo) == before

    idle = await create_workspace(tmp_git_repo, worktrees_dir=tmp_path / "wt", branch="kwaak/idle-1", session_id="i1")
    with pytest.raises(GitError, match="no changes"):
        await pull_into_checkout(tmp_git_repo, idle.path, idle.branch, idle.start_ref)


async def test_pull_refuses_when_user_is_on_the_target_branch(tmp_git_repo: Path, tmp_path: Path) -> None:
    ws = await _agent_with_changes(tmp_git_repo, tmp_path)
    target = await pull_into_checkout(tmp_git_repo, ws.path, ws.branch, ws.start_ref)
    git(tmp_git_repo, "switch", "-q", target)
    with pytest.raises(GitError, match="checked out"):
        await pull_into_checkout(tmp_git_repo, ws.path, ws.branch, ws.start_ref)
