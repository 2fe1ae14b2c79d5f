"""What an isolated executor must mount so that git works in an agent's worktree, and no more.

A worktree's ``.git`` is a *file* pointing at ``<repo>/.git/worktrees/<name>`` (the worktree's own
git dir: ``HEAD``, ``index``, logs), whose ``commondir`` points back at ``<repo>/.git`` (objects,
refs, config, hooks). Sandboxed agents get:

* the common dir **read-only** (so nobody can plant hooks or config that the host's git would run,
  rewrite other branches, or delete history);
* the worktree's git dir **read-write** (``git status``/``git add`` rewrite the index), but its
  ``HEAD``, ``commondir``, ``gitdir``, ``locked`` and ``config.worktree`` files — and the
  worktree's ``.git`` pointer — read-only on top, so the agent can neither switch branches nor
  plant per-worktree config (read when the user's repository sets ``extensions.worktreeConfig``);
  the host's git ignores all of these anyway (:mod:`kwaak.git.trusted`);
* a private object directory ``<worktree git dir>/kwaak-objects`` for the blobs its own
  ``git add`` writes (``GIT_OBJECT_DIRECTORY``), with the shared objects as an alternate.

Commits are made by the host after each completion (:mod:`kwaak.git.commit`), outside the sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kwaak.errors import ExecutorError, GitError
from kwaak.git.diffs import PRIVATE_OBJECTS
from kwaak.git.trusted import agent_git, neutralize_worktree_config

_PINNED = ("HEAD", "commondir", "gitdir", "locked", "config.worktree")


@dataclass(frozen=True, slots=True, kw_only=True)
class Mount:
    """A bind mount: ``source`` on the host appears at ``target``."""

    source: Path
    target: str
    read_only: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class WorktreeGit:
    """The git directories behind one worktree (all absolute, resolved host paths)."""

    worktree: Path
    git_dir: Path
    """The worktree's own git dir (``<repo>/.git/worktrees/<name>``); the worktree itself when it is a main checkout."""
    common_dir: Path

    @property
    def is_linked(self) -> bool:
        """Whether this is a linked worktree (``.git`` is a pointer file)."""
        return self.git_dir != self.common_dir

    @property
    def private_objects(self) -> Path:
        """The agent's private object directory."""
        return self.git_dir / PRIVATE_OBJECTS

    def mounts(self, workdir: str) -> list[Mount]:
        """Mounts, in order, for a worktree that appears at ``workdir`` inside the sandbox.

        A main checkout (not a linked worktree) is mounted as a whole, its ``.git`` included.
        """
        if not self.is_linked:
            return [Mount(source=self.worktree, target=workdir, read_only=False)]
        mounts = [
            Mount(source=self.common_dir, target=str(self.common_dir), read_only=True),
            Mount(source=self.git_dir, target=str(self.git_dir), read_only=False),
        ]
        mounts += [
            Mount(source=self.git_dir / name, target=str(self.git_dir / name), read_only=True)
            for name in _PINNED
            if (self.git_dir / name).exists()
        ]
        mounts.append(Mount(source=self.worktree, target=workdir, read_only=False))
        mounts.append(Mount(source=self.worktree / ".git", target=f"{workdir}/.git", read_only=True))
        return mounts

    def env(self) -> dict[str, str]:
        """Environment that sends new objects to the private directory."""
        if not self.is_linked:
            return {}
        return {
            "GIT_OBJECT_DIRECTORY": str(self.private_objects),
            "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(self.common_dir / "objects"),
        }


def worktree_git(worktree: Path, repo_root: Path | None = None) -> WorktreeGit:
    """The git dirs of ``worktree`` as kwaak computed them; creates its private object directory.

    The layout comes from :func:`kwaak.git.trusted.agent_git` (never from the worktree's ``.git``
    pointer). An empty ``config.worktree`` is created so that it can be pinned read-only.

    Raises:
        ExecutorError: ``worktree`` is not a git worktree kwaak knows.
    """
    try:
        trusted = agent_git(worktree, repo_root)
    except GitError as exc:
        msg = f"{str(worktree)!r} is not a git worktree"
        raise ExecutorError(msg, hint="the agent's workspace must be created with `create_workspace`") from exc
    layout = WorktreeGit(worktree=trusted.worktree, git_dir=trusted.git_dir, common_dir=trusted.common_dir)
    if layout.is_linked:
        (layout.private_objects / "info").mkdir(parents=True, exist_ok=True)
        (layout.private_objects / "pack").mkdir(parents=True, exist_ok=True)
        neutralize_worktree_config(trusted)
        config = layout.git_dir / "config.worktree"
        if not config.exists():
            config.write_bytes(b"")
    return layout
