"""Lint, commit and push an agent's worktree after each completion (kwaak's ``commit_and_push``).

Runs on the host, outside any sandbox or container, with the agent's identity passed through the
environment (``GIT_AUTHOR_*``/``GIT_COMMITTER_*``) rather than written to any git config. Every
git call goes through :class:`~kwaak.git.trusted.AgentGit` (git dirs computed by kwaak, hooks,
fsmonitor and nested repositories neutralised). The commit itself is ``write-tree`` +
``commit-tree`` + ``update-ref HEAD <new> <old>``: no hook runs, and no state file the agent may
have planted in its git dir (``MERGE_HEAD``, ``MERGE_MSG``...) shapes the commit.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from kwaak.config.model import Config
from kwaak.errors import GitError, GitHubError
from kwaak.git.push import has_remote, push_branch
from kwaak.git.reword import CommitMessages, Done
from kwaak.git.trusted import AgentGit, agent_git, stage_pathspec

DEFAULT_MESSAGE = "chore: Committed changes for completion"
COMMIT_PROMPT = (
    "Please generate a conventional commit message for the following changes. Only respond with the "
    "commit message and nothing else. Keep it under 100 characters:\n\n{diff}"
)
MAX_DIFF_CHARS = 60_000
"""The staged diff handed to the message model is cut to this many characters."""

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class CommitResult:
    """What happened after a completion."""

    sha: str
    """The new commit."""
    message: str
    pushed: bool
    push_error: str | None = None
    """Why the push failed (rendered error with hint), if it was attempted and failed."""


def agent_identity_env(config: Config) -> dict[str, str]:
    """Environment variables that make git author and commit as the agent."""
    name, email = config.git.agent_user_name, config.git.agent_user_email
    return {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }


async def has_changes(workspace_path: Path, *, repo_root: Path | None = None) -> bool:
    """Whether the worktree has staged, unstaged or untracked changes (submodules ignored)."""
    layout = agent_git(workspace_path, repo_root)
    status = await layout.run("status", "--porcelain", "--untracked-files=all", "--ignore-submodules=all")
    return bool(status.stdout.strip())


async def commit_changes(
    workspace_path: Path,
    config: Config,
    *,
    run_lint: Callable[[], Awaitable[None]] | None,
    message_for: Callable[[str], Awaitable[str]] | None,
    push: bool = True,
    repo_root: Path | None = None,
    later: tuple[CommitMessages, Done] | None = None,
) -> CommitResult | None:
    """Lint, commit everything and push, as kwaak does after every completion.

    Args:
        workspace_path: The agent's worktree.
        config: Provides ``git.*`` settings, the agent identity and the GitHub token.
        run_lint: Runs ``commands.lint_and_fix`` in the agent's executor (its outcome is ignored);
            called only when the worktree changed.
        message_for: Produces a commit message from the staged diff (the indexing model); the
            fixed default is used when it is ``None``, fails, or ``generate_commit_message`` is off.
        push: Allow pushing (``git.auto_push_remote`` must also be on and the remote must exist).
        repo_root: The user's repository (default: the one kwaak created the worktree from).
        later: Generate the message in the background instead (:mod:`kwaak.git.reword`): the
            commit is made at once with :data:`DEFAULT_MESSAGE` and reworded when the message
            arrives; the callback then reports it and pushes (the push waits for the message).

    Returns:
        The commit made, or ``None`` when there was nothing to commit or auto-commit is disabled.

    Raises:
        GitError: staging or committing failed.
    """
    layout = agent_git(workspace_path, repo_root)
    if not await has_changes(layout.worktree, repo_root=repo_root):
        return None
    if run_lint is not None:
        await run_lint()
    if config.git.auto_commit_disabled or not await has_changes(layout.worktree, repo_root=repo_root):
        return None
    deferred = later is not None and message_for is not None and config.git.generate_commit_message
    async with later[0].lock if later is not None else contextlib.nullcontext():
        if not await stage_all(layout.worktree, repo_root=repo_root):
            return None
        if deferred:
            diff, message = await staged_diff(layout), DEFAULT_MESSAGE
        else:
            message = await _message(layout, config, message_for)
        sha = await commit_staged(layout, message, env=agent_identity_env(config))
    if sha is None:
        return None
    if deferred and later is not None and message_for is not None:
        messages, done = later
        messages.schedule(layout, sha, lambda: generated_message(message_for, diff), done)
        return CommitResult(sha=sha, message=message, pushed=False)
    pushed, push_error = False, None
    if push and config.git.auto_push_remote:
        pushed, push_error = await _push(layout, config)
    return CommitResult(sha=sha, message=message, pushed=pushed, push_error=push_error)


async def stage_all(workspace_path: Path, *, repo_root: Path | None = None) -> bool:
    """``git add --all`` that is safe after a sandboxed agent staged files itself (use before any host commit).

    Nested repositories and gitlinks are left out (see :func:`~kwaak.git.trusted.stage_pathspec`).

    Returns:
        Whether the index now differs from ``HEAD``.
    """
    layout = agent_git(workspace_path, repo_root)
    # Rebuild the index from HEAD, without the agent's cached stat data: a sandboxed agent's own
    # `git add` wrote blobs to a private object directory the host repository cannot see, and
    # forged stat data would make git skip re-hashing files that changed. Everything is re-hashed.
    await layout.run("read-tree", "HEAD")
    await layout.run("add", "--all", "--", *await stage_pathspec(layout))
    staged = await layout.run("diff", "--cached", "--quiet", "--ignore-submodules=all", "--no-ext-diff", check=False)
    return staged.returncode == 1


async def commit_staged(layout: AgentGit, message: str, *, env: dict[str, str]) -> str | None:
    """Commit the index on the branch ``HEAD`` names, without hooks; the new sha, or ``None`` if unchanged.

    Raises:
        GitError: ``HEAD`` is not a branch of the repository, or git failed.
    """
    head_ref = (await layout.run("symbolic-ref", "--quiet", "HEAD", check=False)).stdout.strip()
    if not head_ref.startswith("refs/heads/"):
        msg = f"cannot commit in {str(layout.worktree)!r}: HEAD is not on a branch"
        raise GitError(msg, hint="the agent's worktree must stay on its kwaak branch")
    parent = await layout.out("rev-parse", "--verify", "--quiet", f"{head_ref}^{{commit}}")
    tree = await layout.out("write-tree")
    if tree == await layout.out("rev-parse", f"{parent}^{{tree}}"):
        return None
    sha = await layout.out("commit-tree", "--no-gpg-sign", tree, "-p", parent, "-m", message, env=env)
    await layout.run("update-ref", "-m", f"commit: {message.splitlines()[0] if message else ''}", head_ref, sha, parent)
    return sha


async def _message(layout: AgentGit, config: Config, message_for: Callable[[str], Awaitable[str]] | None) -> str:
    if message_for is None or not config.git.generate_commit_message:
        return DEFAULT_MESSAGE
    return await generated_message(message_for, await staged_diff(layout)) or DEFAULT_MESSAGE


async def staged_diff(layout: AgentGit) -> str:
    """The staged changes, cut to :data:`MAX_DIFF_CHARS` (what the message model sees)."""
    diff = (await layout.run("diff", "--staged", "--no-color", "--no-ext-diff", "--no-textconv")).stdout
    return diff[:MAX_DIFF_CHARS]


async def generated_message(message_for: Callable[[str], Awaitable[str]], diff: str) -> str | None:
    """The cleaned message the model writes for ``diff``; ``None`` when it failed or was empty."""
    try:
        raw = await message_for(diff)
    except Exception as exc:  # a failed message must not lose the commit
        log.warning("commit message generation failed, using the default: %s", exc)
        return None
    return clean_message(raw) or None


def clean_message(raw: str) -> str:
    """Strip code fences and surrounding quotes an LLM may wrap the message in."""
    lines = [line for line in raw.strip().splitlines() if not line.strip().startswith("```")]
    text = "\n".join(lines).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'`":
        text = text[1:-1].strip()
    return text


async def push_if_enabled(layout: AgentGit, config: Config) -> tuple[bool, str | None]:
    """Push the agent's branch when ``git.auto_push_remote`` is on: (pushed, error)."""
    if not config.git.auto_push_remote:
        return False, None
    return await _push(layout, config)


async def _push(layout: AgentGit, config: Config) -> tuple[bool, str | None]:
    remote = config.git.remote
    if not await has_remote(layout.worktree, remote):
        return False, None
    branch = (await layout.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)).stdout.strip()
    if not branch:
        return False, "not pushed: the worktree is not on a branch (detached HEAD)"
    from kwaak.git.github_app import github_token  # httpx: only when pushing

    try:
        token = await github_token(config)
    except GitHubError as exc:
        log.warning("auto-push skipped: %s", exc.message)
        return False, exc.render()
    try:
        await push_branch(layout.worktree, branch, remote=remote, token=token, env=agent_identity_env(config))
    except GitError as exc:
        log.warning("auto-push failed: %s", exc.message)
        return False, exc.render()
    return True, None
