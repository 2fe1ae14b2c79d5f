"""Lint, commit and push an agent's worktree after each completion (kwaak's ``commit_and_push``).

Runs on the host, outside any sandbox or container, with the agent's identity passed through the
environment (``GIT_AUTHOR_*``/``GIT_COMMITTER_*``) rather than written to any git config.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from kwaak.config.model import Config
from kwaak.errors import GitError
from kwaak.git.cli import git_out, run_git
from kwaak.git.push import has_remote, push_branch

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


async def has_changes(workspace_path: Path) -> bool:
    """Whether the worktree has staged, unstaged or untracked changes."""
    return bool((await run_git(workspace_path, "status", "--porcelain", "--untracked-files=all")).stdout.strip())


async def commit_changes(
    workspace_path: Path,
    config: Config,
    *,
    run_lint: Callable[[], Awaitable[None]] | None,
    message_for: Callable[[str], Awaitable[str]] | None,
    push: bool = True,
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

    Returns:
        The commit made, or ``None`` when there was nothing to commit or auto-commit is disabled.

    Raises:
        GitError: staging or committing failed.
    """
    if not await has_changes(workspace_path):
        return None
    if run_lint is not None:
        await run_lint()
    if config.git.auto_commit_disabled or not await has_changes(workspace_path):
        return None
    await stage_all(workspace_path)
    message = await _message(workspace_path, config, message_for)
    env = agent_identity_env(config)
    await run_git(
        workspace_path, "-c", "commit.gpgsign=false", "commit", "--quiet", "--no-verify", "-m", message, env=env
    )
    sha = await git_out(workspace_path, "rev-parse", "HEAD")
    pushed, push_error = False, None
    if push and config.git.auto_push_remote:
        pushed, push_error = await _push(workspace_path, config)
    return CommitResult(sha=sha, message=message, pushed=pushed, push_error=push_error)


async def stage_all(workspace_path: Path) -> None:
    """``git add --all`` that is safe after a sandboxed agent staged files itself (use before any host commit)."""
    # Re-read the index from HEAD first: a sandboxed agent's own `git add` wrote its blobs to a
    # private object directory the host repository cannot see, so those entries must be re-hashed.
    await run_git(workspace_path, "reset", "--quiet", check=False)
    await run_git(workspace_path, "add", "--all")


async def _message(workspace_path: Path, config: Config, message_for: Callable[[str], Awaitable[str]] | None) -> str:
    if message_for is None or not config.git.generate_commit_message:
        return DEFAULT_MESSAGE
    diff = (await run_git(workspace_path, "diff", "--staged", "--no-color", "--no-ext-diff")).stdout
    try:
        raw = await message_for(diff[:MAX_DIFF_CHARS])
    except Exception as exc:  # a failed message must not lose the commit
        log.warning("commit message generation failed, using the default: %s", exc)
        return DEFAULT_MESSAGE
    return clean_message(raw) or DEFAULT_MESSAGE


def clean_message(raw: str) -> str:
    """Strip code fences and surrounding quotes an LLM may wrap the message in."""
    lines = [line for line in raw.strip().splitlines() if not line.strip().startswith("```")]
    text = "\n".join(lines).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'`":
        text = text[1:-1].strip()
    return text


async def _push(workspace_path: Path, config: Config) -> tuple[bool, str | None]:
    remote = config.git.remote
    if not await has_remote(workspace_path, remote):
        return False, None
    branch = (await run_git(workspace_path, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)).stdout.strip()
    if not branch:
        return False, "not pushed: the worktree is not on a branch (detached HEAD)"
    token = config.github_api_key.reveal() if config.github_api_key else None
    try:
        await push_branch(workspace_path, branch, remote=remote, token=token, env=agent_identity_env(config))
    except GitError as exc:
        log.warning("auto-push failed: %s", exc.message)
        return False, exc.render()
    return True, None
