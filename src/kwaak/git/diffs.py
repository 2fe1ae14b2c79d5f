"""``/diff show`` and ``/diff pull``: an agent's net changes, and bringing them to the user.

Both work on a snapshot of the agent's worktree taken with a *temporary* index (``GIT_INDEX_FILE``
in a private temp dir), so committed, uncommitted and untracked changes are all included and
neither the agent's index nor the user's checkout is touched.

Design of ``pull``: the agent's branch ``kwaak/<slug>-<id>`` already exists in the user's
repository (worktrees share refs) and is checked out in the agent's worktree, so it cannot be
checked out or moved by the user. ``pull_into_checkout`` therefore creates (or replaces) the local
branch ``<agent branch>-pulled`` holding one commit, "Applied diff from <branch>", on top of the
user's current ``HEAD``. It is built entirely in a temporary index with ``git apply --cached``,
``write-tree``, ``commit-tree`` and ``update-ref``: the user's working tree, index and current
branch never change. The user then merges or checks out that branch.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from kwaak.errors import DirtyRepository, GitError
from kwaak.git.cli import git_out, run_git
from kwaak.git.trusted import AgentGit, agent_git, stage_pathspec

PULLED_SUFFIX = "-pulled"
PRIVATE_OBJECTS = "kwaak-objects"
"""Name of the per-worktree object directory sandboxed agents write to (inside the worktree's git dir)."""


def pulled_branch(branch: str) -> str:
    """The local branch ``/diff pull`` writes the agent's changes to."""
    return f"{branch}{PULLED_SUFFIX}"


async def snapshot_tree(workspace_path: Path, *, repo_root: Path | None = None) -> str:
    """Write the worktree's current content (tracked and untracked, ignoring ignored files) as a tree.

    Nested repositories and gitlinks are left out, as for a commit (:mod:`kwaak.git.trusted`).

    Returns:
        The tree's sha.
    """
    layout = agent_git(workspace_path, repo_root)
    with tempfile.TemporaryDirectory(prefix="kwaak-index-") as tmp:
        tmp_index = Path(tmp) / "index"
        env = {"GIT_INDEX_FILE": str(tmp_index), **private_objects_env(layout)}
        # Start from HEAD, not from the agent's index: its cached stat data could make git skip
        # re-hashing files the agent changed (hiding them from the diff), and it may not be a file.
        await layout.run("read-tree", "HEAD", env=env)
        await layout.run("add", "--all", "--", *await stage_pathspec(layout), env=env)
        return await layout.out("write-tree", env=env)


def private_objects_env(layout: AgentGit) -> dict[str, str]:
    """Make objects written by a sandboxed agent's own ``git add`` readable (read-only use only)."""
    private = layout.git_dir / PRIVATE_OBJECTS
    return {"GIT_ALTERNATE_OBJECT_DIRECTORIES": str(private)} if layout.is_linked and private.is_dir() else {}


async def agent_diff(
    workspace_path: Path, start_ref: str, *, binary: bool = False, repo_root: Path | None = None
) -> str:
    """The agent's net changes since ``start_ref`` as a plain unified diff (no colors).

    Includes commits on the agent's branch, uncommitted edits and untracked (not ignored) files.

    Args:
        workspace_path: The agent's worktree.
        start_ref: The commit the agent started from.
        binary: Emit ``--binary`` patches (needed to apply binary changes).
        repo_root: The user's repository (default: the one kwaak created the worktree from).
    """
    layout = agent_git(workspace_path, repo_root)
    tree = await snapshot_tree(layout.worktree, repo_root=repo_root)
    args = ["diff", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames", start_ref, tree]
    if binary:
        args[1:1] = ["--binary", "--full-index"]
    return (await layout.run(*args, env=private_objects_env(layout))).stdout


async def ensure_clean(repo_root: Path) -> None:
    """Refuse to go on when tracked files in the user's checkout have uncommitted changes.

    Raises:
        DirtyRepository: the working tree or index differs from ``HEAD``.
    """
    status = (await run_git(repo_root, "status", "--porcelain", "--untracked-files=no")).stdout
    if status.strip():
        msg = "Cannot pull diff, working directory is dirty"
        raise DirtyRepository(msg, hint="commit or stash your changes, then run `/diff pull` again")


async def pull_into_checkout(repo_root: Path, workspace_path: Path, branch: str, start_ref: str) -> str:
    """Put the agent's net diff, as one commit on top of the user's ``HEAD``, on ``<branch>-pulled``.

    Args:
        repo_root: The user's repository (its checkout is left exactly as it is).
        workspace_path: The agent's worktree.
        branch: The agent's branch.
        start_ref: The commit the agent started from.

    Returns:
        The name of the local branch that received the commit.

    Raises:
        DirtyRepository: the user's checkout has uncommitted changes.
        GitError: there is nothing to pull, the user is on the target branch, or the diff does not
            apply on top of the user's ``HEAD``.
    """
    await ensure_clean(repo_root)
    target = pulled_branch(branch)
    current = (await run_git(repo_root, "symbolic-ref", "--quiet", "HEAD", check=False)).stdout.strip()
    if current == f"refs/heads/{target}":
        msg = f"cannot pull into {target!r}: it is the branch you have checked out"
        raise GitError(msg, hint="switch to another branch (e.g. `git switch -`) and pull again")
    patch = await agent_diff(workspace_path, start_ref, binary=True, repo_root=repo_root)
    if not patch.strip():
        msg = f"the agent on {branch!r} has no changes to pull"
        raise GitError(msg, hint="wait until the agent has edited files, or check `/diff` first")
    base = await git_out(repo_root, "rev-parse", "HEAD")
    tree = await _apply_on(repo_root, base, patch, branch)
    commit = await git_out(repo_root, "commit-tree", tree, "-p", base, "-m", f"Applied diff from {branch}")
    await run_git(repo_root, "update-ref", "-m", f"kwaak: pull diff from {branch}", f"refs/heads/{target}", commit)
    return target


async def _apply_on(repo_root: Path, base: str, patch: str, branch: str) -> str:
    with tempfile.TemporaryDirectory(prefix="kwaak-pull-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        await run_git(repo_root, "read-tree", base, env=env)
        applied = await run_git(
            repo_root, "apply", "--cached", "--3way", "--whitespace=nowarn", "-", input_text=patch, env=env, check=False
        )
        if not applied.ok:
            msg = f"Failed to apply diff from {branch!r} on top of your HEAD: {applied.stderr.strip()}"
            raise GitError(msg, hint=f"merge the agent's branch instead: `git merge {branch}`", stderr=applied.stderr)
        return await _out(repo_root, env, "write-tree")


async def _out(repo: Path, env: dict[str, str], *args: str) -> str:
    return (await run_git(repo, *args, env=env)).stdout.strip()
