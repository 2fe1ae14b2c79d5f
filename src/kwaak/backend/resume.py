"""Keeping work across restarts: a WIP commit before a worktree is removed (resume re-creates it)."""

from __future__ import annotations

import logging

from kwaak.config import Config
from kwaak.errors import GitError
from kwaak.git.commit import agent_identity_env, commit_staged, has_changes, stage_all
from kwaak.git.trusted import agent_git
from kwaak.git.workspace import AgentWorkspace

log = logging.getLogger(__name__)
WIP_MESSAGE = "chore: work in progress (kwaak was closed mid-turn)"


async def commit_work_in_progress(workspace: AgentWorkspace, config: Config) -> bool:
    """Commit uncommitted changes on the agent's branch so removing the worktree loses nothing."""
    if not workspace.path.exists():
        return False
    try:
        layout = agent_git(workspace.path, workspace.repo_root)
        if not await has_changes(layout.worktree) or not await stage_all(layout.worktree):
            return False
        return await commit_staged(layout, WIP_MESSAGE, env=agent_identity_env(config)) is not None
    except GitError as exc:
        log.warning("could not commit work in progress in %s: %s", workspace.path, exc)
        return False
