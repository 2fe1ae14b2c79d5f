"""Keeping work across restarts: a WIP commit before a worktree is removed (resume re-creates it)."""

from __future__ import annotations

import logging

from kwaak.config import Config
from kwaak.errors import GitError
from kwaak.git.cli import run_git
from kwaak.git.commit import agent_identity_env, stage_all
from kwaak.git.workspace import AgentWorkspace

log = logging.getLogger(__name__)
WIP_MESSAGE = "chore: work in progress (kwaak was closed mid-turn)"


async def commit_work_in_progress(workspace: AgentWorkspace, config: Config) -> bool:
    """Commit uncommitted changes on the agent's branch so removing the worktree loses nothing."""
    if not workspace.path.exists():
        return False
    status = await run_git(workspace.path, "status", "--porcelain", check=False)
    if not status.ok or not status.stdout.strip():
        return False
    env = agent_identity_env(config)
    try:
        await stage_all(workspace.path)
        await run_git(workspace.path, "commit", "-q", "--no-verify", "-m", WIP_MESSAGE, env=env)
    except GitError as exc:
        log.warning("could not commit work in progress in %s: %s", workspace.path, exc)
        return False
    return True
