"""Keeping work across restarts: WIP commits before a worktree goes, re-attaching it on resume."""

from __future__ import annotations

import logging

from kwaak.config import Config
from kwaak.errors import GitError
from kwaak.git.cli import run_git
from kwaak.git.workspace import AgentWorkspace, remove_workspace_path

log = logging.getLogger(__name__)
WIP_MESSAGE = "chore: work in progress (kwaak was closed mid-turn)"


async def commit_work_in_progress(workspace: AgentWorkspace, config: Config) -> bool:
    """Commit uncommitted changes on the agent's branch so removing the worktree loses nothing."""
    if not workspace.path.exists():
        return False
    status = await run_git(workspace.path, "status", "--porcelain", check=False)
    if not status.ok or not status.stdout.strip():
        return False
    env = {
        "GIT_AUTHOR_NAME": config.git.agent_user_name,
        "GIT_AUTHOR_EMAIL": config.git.agent_user_email,
        "GIT_COMMITTER_NAME": config.git.agent_user_name,
        "GIT_COMMITTER_EMAIL": config.git.agent_user_email,
    }
    try:
        await run_git(workspace.path, "add", "-A", env=env)
        await run_git(workspace.path, "commit", "-q", "--no-verify", "-m", WIP_MESSAGE, env=env)
    except GitError as exc:
        log.warning("could not commit work in progress in %s: %s", workspace.path, exc)
        return False
    return True


async def reattach_workspace(workspace: AgentWorkspace) -> AgentWorkspace:
    """Make sure the worktree exists (re-created from the agent's branch after a quit or crash).

    Raises:
        GitError: the branch is gone (the hint says how to start over).
    """
    if (workspace.path / ".git").exists():
        return workspace
    repo = workspace.repo_root
    exists = await run_git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{workspace.branch}", check=False)
    if not exists.ok:
        msg = f"cannot resume: the agent's branch {workspace.branch!r} no longer exists"
        raise GitError(msg, hint="delete this session (`kwaak sessions delete ID`) and start a new one")
    await remove_workspace_path(repo, workspace.path)
    workspace.path.parent.mkdir(parents=True, exist_ok=True)
    await run_git(repo, "worktree", "add", "--quiet", str(workspace.path), workspace.branch)
    return workspace
