"""``kwaak sessions prune [--merged] [--older-than D] [--dry-run]``: remove finished sessions.

A finished session (done, failed, stopped, out of budget or interrupted, and owned by no live
process), or a landed one, is removed with its worktree and its ``kwaak/*`` branch. ``--merged``
keeps those whose branch is neither landed nor merged into the main branch (and also removes
merged ``kwaak/*`` branches that no session refers to any more); ``--older-than`` keeps those
updated more recently.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Protocol

from kwaak.backend.store_index import SessionEntry, list_sessions
from kwaak.config import Config
from kwaak.errors import UsageError
from kwaak.git.cli import run_git
from kwaak.textsafe import escape_controls

FINISHED = frozenset({"done", "failed", "stopped", "budget_exhausted", "interrupted"})
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class App(Protocol):
    """What pruning needs from the CLI's application context."""

    config: Config
    repo_root: Path


def parse_age(text: str) -> float:
    """``30m``, ``12h``, ``7d``, ``2w`` → seconds.

    Raises:
        UsageError: not a number followed by m, h, d or w.
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*", text)
    if match is None:
        msg = f"`--older-than {text}` is not a duration"
        raise UsageError(msg, hint="use a number and a unit: 30m, 12h, 7d or 2w")
    return float(match.group(1)) * _UNITS[match.group(2)]


async def _merged(repo_root: Path, branch: str, main: str) -> bool:
    result = await run_git(repo_root, "merge-base", "--is-ancestor", f"refs/heads/{branch}", main, check=False)
    return result.ok


async def _branch_exists(repo_root: Path, branch: str) -> bool:
    return (await run_git(repo_root, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False)).ok


async def candidates(app: App, *, merged: bool, older_than: str | None) -> list[SessionEntry]:
    """The finished sessions that the filters select."""
    cutoff = time.time() - parse_age(older_than) if older_than else None
    chosen: list[SessionEntry] = []
    for entry in list_sessions(app.config.cache_dir, app.repo_root):
        meta = entry.meta
        if meta is None or entry.owner is not None or (entry.status not in FINISHED and not meta.landed):
            continue
        if cutoff is not None and meta.updated_at > cutoff:
            continue
        landed = meta.landed is not None  # squash- or rebase-landed branches are not ancestors of the base
        if merged and not (
            landed or (meta.branch and await _merged(app.repo_root, meta.branch, app.config.main_branch))
        ):
            continue
        chosen.append(entry)
    return chosen


async def _orphan_branches(app: App, known: set[str]) -> list[str]:
    """Merged ``kwaak/*`` branches no stored session refers to."""
    listing = await run_git(
        app.repo_root, "for-each-ref", "--format=%(refname:short)", "refs/heads/kwaak/", check=False
    )
    branches = [b for b in listing.stdout.split() if b and b not in known]
    return [b for b in branches if await _merged(app.repo_root, b, app.config.main_branch)]


async def prune(app: App, *, merged: bool = False, older_than: str | None = None, dry_run: bool = False) -> int:
    """Remove the selected sessions, their worktrees and branches; print what was (or would be) removed."""
    from kwaak.commands.sessions_cmd import delete_sessions

    chosen = await candidates(app, merged=merged, older_than=older_than)
    known = {e.meta.branch for e in list_sessions(app.config.cache_dir, app.repo_root) if e.meta and e.meta.branch}
    orphans = await _orphan_branches(app, known) if merged else []
    verb = "Would remove" if dry_run else "Removed"
    if not chosen and not orphans:
        print("Nothing to prune.")
        return 0
    if not dry_run:
        await delete_sessions(app, [e.id for e in chosen])
    for entry in chosen:
        assert entry.meta is not None
        branch = entry.meta.branch
        if branch and branch.startswith("kwaak/") and await _branch_exists(app.repo_root, branch) and not dry_run:
            await run_git(app.repo_root, "branch", "-D", branch, check=False)
        title = entry.meta.title or "(untitled)"
        print(escape_controls(f"{verb} session {entry.id[:8]} [{entry.status}] {title} (branch {branch or '-'})"))
    for branch in orphans:
        if not dry_run:
            await run_git(app.repo_root, "branch", "-D", branch, check=False)
        print(f"{verb} merged branch {branch} (no session)")
    return 0
