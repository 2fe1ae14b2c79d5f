"""kwaak.git.trusted: the git dirs kwaak computes for a worktree, never read from the worktree."""

from __future__ import annotations

from pathlib import Path

import pytest

from kwaak.errors import GitError
from kwaak.git.commit import commit_staged, stage_all
from kwaak.git.trusted import agent_git, locate, neutralize_worktree_config, run_tree_git
from kwaak.git.workspace import create_workspace, remove_workspace
from tests.conftest import git


async def test_layout_comes_from_the_repository_not_the_pointer(tmp_git_repo: Path, tmp_path: Path) -> None:
    ws = await create_workspace(tmp_git_repo, worktrees_dir=tmp_path / "wt", branch="kwaak/t1", session_id="t1")
    common = (tmp_git_repo / ".git").resolve()
    layout = agent_git(ws.path)
    assert layout.common_dir == common and layout.git_dir.parent == common / "worktrees"
    (ws.path / ".git").write_text("gitdir: /nonexistent\n")
    assert agent_git(ws.path) == layout
    assert locate(tmp_git_repo, ws.path) == layout, "recomputed from the repository alone"
    assert (await layout.run("rev-parse", "--abbrev-ref", "HEAD")).stdout.strip() == "kwaak/t1"
    await remove_workspace(ws)
    with pytest.raises(GitError, match="does not know"):
        agent_git(ws.path)


async def test_user_checkout_that_is_itself_a_linked_worktree(tmp_git_repo: Path, tmp_path: Path) -> None:
    """kwaak started inside a worktree the user made: its own git dir, and agents work from it."""
    user_wt = tmp_path / "user-wt"
    git(tmp_git_repo, "worktree", "add", "-q", "-b", "feature", str(user_wt))
    own = locate(user_wt, user_wt)
    assert own.git_dir != own.common_dir and own.git_dir.name == "user-wt"
    ws = await create_workspace(user_wt, worktrees_dir=tmp_path / "wt", branch="kwaak/t2", session_id="t2")
    (ws.path / "new.txt").write_text("x\n")
    assert await stage_all(ws.path)
    sha = await commit_staged(agent_git(ws.path), "agent", env={})
    assert sha is not None and git(tmp_git_repo, "rev-parse", "kwaak/t2") == sha


async def test_agent_written_worktree_config_is_emptied(tmp_git_repo: Path, tmp_path: Path) -> None:
    ws = await create_workspace(tmp_git_repo, worktrees_dir=tmp_path / "wt", branch="kwaak/t3", session_id="t3")
    layout = agent_git(ws.path)
    config = layout.git_dir / "config.worktree"
    config.write_text("[core]\n\tfsmonitor = touch /nonexistent/x\n")
    neutralize_worktree_config(layout)
    assert config.read_bytes() == b""


async def test_run_tree_git_on_an_unknown_directory_is_still_hardened(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    result = await run_tree_git(plain, "config", "--get", "core.fsmonitor")
    assert result.stdout.strip() == "false"  # the command-line settings apply everywhere
