"""What an agent's branch would bring to a base branch: files with line counts, hunks, commits.

Everything is read from the user's repository on explicit refs with the hardened options of
:mod:`kwaak.git.land` (no hooks, no external diff or textconv drivers), so reviewing never runs
anything the agent planted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kwaak.git.land import commit_of, git, out

MAX_REVIEW_DIFF = 400_000
"""Characters of diff text shipped to the front end (the file list is always complete)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FileChange:
    """One changed file: path, added and removed lines (``-1`` for binary files)."""

    path: str
    added: int
    removed: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CommitEntry:
    """One commit of the agent's branch."""

    sha: str
    subject: str
    body: str
    author: str
    timestamp: float


@dataclass(frozen=True, slots=True, kw_only=True)
class BranchReview:
    """The review of one branch against a base."""

    branch: str
    base: str
    merge_base: str
    ahead: int
    behind: int
    files: tuple[FileChange, ...]
    commits: tuple[CommitEntry, ...]
    diff: str
    truncated: bool = False


async def ahead_behind(repo: Path, base: str, branch: str) -> tuple[int, int]:
    """Commits ``branch`` has that ``base`` lacks, and the reverse."""
    counts = await out(repo, "rev-list", "--left-right", "--count", f"{base}...{branch}")
    behind, ahead = (int(n) for n in counts.split())
    return ahead, behind


async def file_changes(repo: Path, old: str, new: str) -> list[FileChange]:
    """``git diff --numstat`` of ``old..new``."""
    raw = await out(repo, "diff", "--numstat", "-z", "--no-renames", "--no-ext-diff", "--no-textconv", old, new)
    changes: list[FileChange] = []
    for record in raw.split("\0"):
        parts = record.split("\t", 2)
        if len(parts) != 3:
            continue
        added, removed, path = parts
        binary = added == "-"
        changes.append(
            FileChange(path=path, added=-1 if binary else int(added), removed=-1 if binary else int(removed))
        )
    return changes


async def branch_commits(repo: Path, base: str, branch: str) -> list[CommitEntry]:
    """Commits of ``branch`` not on ``base``, newest first."""
    fmt = "%H%x1f%s%x1f%b%x1f%an%x1f%at%x1e"
    raw = (await git(repo, "log", f"--format={fmt}", f"{base}..{branch}")).stdout
    entries: list[CommitEntry] = []
    for record in raw.split("\x1e"):
        fields = record.strip("\n").split("\x1f")
        if len(fields) == 5:
            sha, subject, body, author, ts = fields
            entries.append(CommitEntry(sha=sha, subject=subject, body=body.strip(), author=author, timestamp=float(ts)))
    return entries


async def review_branch(repo: Path, *, branch: str, base: str) -> BranchReview:
    """What landing ``branch`` on ``base`` would bring: diff against their merge base, and commits.

    Raises:
        GitError: a branch does not exist.
    """
    base_sha = await commit_of(repo, f"refs/heads/{base}", what="base branch")
    tip = await commit_of(repo, f"refs/heads/{branch}", what="agent branch")
    merge_base = await out(repo, "merge-base", base_sha, tip)
    ahead, behind = await ahead_behind(repo, base_sha, tip)
    diff = (
        await git(repo, "diff", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames", merge_base, tip)
    ).stdout
    return BranchReview(
        branch=branch,
        base=base,
        merge_base=merge_base,
        ahead=ahead,
        behind=behind,
        files=tuple(await file_changes(repo, merge_base, tip)),
        commits=tuple(await branch_commits(repo, base_sha, tip)),
        diff=diff[:MAX_REVIEW_DIFF],
        truncated=len(diff) > MAX_REVIEW_DIFF,
    )
