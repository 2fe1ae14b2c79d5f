"""Per-agent workspaces: a git worktree on its own branch, so the user's checkout is never touched."""

from __future__ import annotations

import asyncio
import re
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from kwaak.errors import GitError
from kwaak.git.cli import git_out, run_git

BRANCH_PREFIX = "kwaak/"
_locks: dict[Path, asyncio.Lock] = {}


def _repo_lock(repo: Path) -> asyncio.Lock:
    # git takes lock files (config.lock, refs) while adding worktrees; serialize per repository.
    return _locks.setdefault(repo.resolve(), asyncio.Lock())


def slugify(text: str, *, max_len: int = 30) -> str:
    """kwaak's branch-name cleaning: ASCII, lowercase, non-alphanumerics to ``-``, ≤ ``max_len``."""
    text = text.strip().strip('"').strip("'")[:max_len]
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return re.sub(r"-{2,}", "-", slug) or "agent"


def branch_name(name: str, session_id: str) -> str:
    """``kwaak/<slug>-<first 8 chars of the session id>``."""
    return f"{BRANCH_PREFIX}{slugify(name)}-{session_id.replace('-', '')[:8]}"


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentWorkspace:
    """A worktree for one agent session."""

    repo_root: Path
    """The user's repository."""
    path: Path
    """The worktree directory."""
    branch: str
    start_ref: str
    """The commit the branch started from (base for diffs and ``reset_file``)."""


async def create_workspace(
    repo_root: Path,
    *,
    worktrees_dir: Path,
    branch: str,
    session_id: str,
    start_ref: str = "HEAD",
) -> AgentWorkspace:
    """Create a worktree at ``worktrees_dir/<session_id>`` on a new ``branch`` from ``start_ref``.

    Raises:
        GitError: the repository has no commits, or git failed.
    """
    repo_root = repo_root.resolve()
    sha = (await run_git(repo_root, "rev-parse", "--verify", "--quiet", f"{start_ref}^{{commit}}", check=False)).stdout.strip()
    if not sha:
        msg = f"cannot start an agent: {start_ref!r} does not name a commit in {str(repo_root)!r}"
        raise GitError(msg, hint="make an initial commit first (`git commit --allow-empty -m init`)")
    path = worktrees_dir / session_id
    worktrees_dir.mkdir(parents=True, exist_ok=True)
    async with _repo_lock(repo_root):
        if path.exists():
            await remove_workspace_path(repo_root, path)
        await run_git(repo_root, "worktree", "add", "--quiet", "-B", branch, str(path), sha)
    return AgentWorkspace(repo_root=repo_root, path=path, branch=branch, start_ref=sha)


async def rename_branch(workspace: AgentWorkspace, new_branch: str) -> AgentWorkspace:
    """Rename the workspace's branch (used once the LLM has named it)."""
    if new_branch == workspace.branch:
        return workspace
    async with _repo_lock(workspace.repo_root):
        await run_git(workspace.path, "branch", "-M", workspace.branch, new_branch)
    return AgentWorkspace(repo_root=workspace.repo_root, path=workspace.path, branch=new_branch, start_ref=workspace.start_ref)


async def remove_workspace_path(repo_root: Path, path: Path) -> None:
    """Remove a worktree directory and its git bookkeeping (the branch is kept)."""
    await run_git(repo_root, "worktree", "remove", "--force", str(path), check=False)
    if path.exists():
        await asyncio.to_thread(shutil.rmtree, path, True)
    await run_git(repo_root, "worktree", "prune", check=False)


async def remove_workspace(workspace: AgentWorkspace, *, delete_branch: bool = False) -> None:
    """Remove the worktree; optionally delete its branch too."""
    async with _repo_lock(workspace.repo_root):
        await remove_workspace_path(workspace.repo_root, workspace.path)
        if delete_branch:
            await run_git(workspace.repo_root, "branch", "-D", workspace.branch, check=False)


async def current_head(repo: Path) -> str:
    """The commit sha of HEAD."""
    return await git_out(repo, "rev-parse", "HEAD")
