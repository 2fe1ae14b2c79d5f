"""Rewording provisional commits (kwaak.git.reword): linear history only, agent tampering leaves it alone."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from kwaak.config import Config
from kwaak.git.commit import DEFAULT_MESSAGE, commit_changes
from kwaak.git.reword import CommitMessages, reword
from kwaak.git.trusted import agent_git
from kwaak.git.workspace import AgentWorkspace, create_workspace
from tests.conftest import git

ConfigFactory = Callable[..., Config]


async def _workspace(repo: Path, tmp_path: Path) -> AgentWorkspace:
    return await create_workspace(repo, worktrees_dir=tmp_path / "wt", branch="kwaak/reword", session_id="r1")


def _agent_commit(ws: Path, name: str, message: str) -> str:
    (ws / name).write_text(f"{name}\n")
    git(ws, "add", name)
    git(ws, "commit", "-q", "-m", message)
    return git(ws, "rev-parse", "HEAD")


async def test_reword_rebuilds_the_commits_on_top_with_the_same_trees(tmp_git_repo: Path, tmp_path: Path) -> None:
    ws = await _workspace(tmp_git_repo, tmp_path)
    first = _agent_commit(ws.path, "a.txt", DEFAULT_MESSAGE)
    second = _agent_commit(ws.path, "b.txt", "agent: add b")
    trees = [git(ws.path, "rev-parse", f"{sha}^{{tree}}") for sha in (first, second)]

    renamed = await reword(agent_git(ws.path, tmp_git_repo), first, "feat: add a")

    assert renamed is not None and set(renamed) == {first, second}
    assert git(ws.path, "log", "--format=%s", "main..HEAD").splitlines() == ["agent: add b", "feat: add a"]
    assert [git(ws.path, "rev-parse", f"{renamed[sha]}^{{tree}}") for sha in (first, second)] == trees
    assert git(ws.path, "status", "--porcelain") == "", "the worktree and index are untouched"
    assert git(ws.path, "log", "-1", "--format=%an|%ad", renamed[first]) == git(
        ws.path, "log", "-1", "--format=%an|%ad", first
    )


async def test_reword_leaves_a_reset_or_merged_branch_alone(tmp_git_repo: Path, tmp_path: Path) -> None:
    ws = await _workspace(tmp_git_repo, tmp_path)
    layout = agent_git(ws.path, tmp_git_repo)
    provisional = _agent_commit(ws.path, "a.txt", DEFAULT_MESSAGE)
    # The agent merges a side branch on top: the history is no longer linear.
    git(ws.path, "checkout", "-q", "-b", "side", "main")
    _agent_commit(ws.path, "side.txt", "side")
    git(ws.path, "checkout", "-q", "kwaak/reword")
    git(ws.path, "merge", "-q", "--no-edit", "side")
    merged = git(ws.path, "rev-parse", "HEAD")
    assert await reword(layout, provisional, "feat: add a") is None
    assert git(ws.path, "rev-parse", "HEAD") == merged
    # The agent resets the branch away from the provisional commit.
    git(ws.path, "reset", "-q", "--hard", "main")
    assert await reword(layout, provisional, "feat: add a") is None
    assert git(ws.path, "rev-parse", "HEAD") == git(ws.path, "rev-parse", "main")
    # The agent detaches HEAD.
    git(ws.path, "checkout", "-q", "--detach", provisional)
    assert await reword(layout, provisional, "feat: add a") is None


async def test_deferred_messages_apply_in_order_and_push_once_final(
    tmp_git_repo: Path, bare_remote: Path, tmp_path: Path, make_config: ConfigFactory
) -> None:
    config = make_config(git={"generate_commit_message": True, "auto_push_remote": True})
    ws = await _workspace(tmp_git_repo, tmp_path)
    messages = CommitMessages()
    reports: list[tuple[str, str | None, str | None, bool]] = []
    layout = agent_git(ws.path, tmp_git_repo)

    async def done(old: str, sha: str | None, message: str | None, last: bool) -> None:
        reports.append((old, sha, message, last))
        if last:
            from kwaak.git.commit import push_if_enabled

            assert await push_if_enabled(layout, config) == (True, None)

    for name, delay in (("one.txt", 0.4), ("two.txt", 0.0)):  # the second message arrives first
        (ws.path / name).write_text(name)

        async def slow(diff: str, delay: float = delay, name: str = name) -> str:
            await asyncio.sleep(delay)
            return f'"feat: {name}"'

        result = await commit_changes(ws.path, config, run_lint=None, message_for=slow, later=(messages, done))
        assert result is not None and result.message == DEFAULT_MESSAGE and not result.pushed

    await messages.drain(timeout=30)
    assert git(ws.path, "log", "--format=%s", "main..HEAD").splitlines() == ["feat: two.txt", "feat: one.txt"]
    assert [last for *_, last in reports] == [False, True]
    assert git(bare_remote, "log", "--format=%s", "kwaak/reword").splitlines()[:2] == ["feat: two.txt", "feat: one.txt"]
