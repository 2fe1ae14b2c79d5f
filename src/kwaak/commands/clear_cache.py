"""``kwaak clear-cache``: delete this project's cache directory (index, sessions, worktrees).

It asks first (``--yes`` skips the question; without a terminal ``--yes`` is required), refuses
while another live kwaak process owns a session in the cache, and says what it deleted.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path

import click

from kwaak.backend.store_lock import owner_pid
from kwaak.commands.app import AppContext
from kwaak.errors import KwaakError, SessionInUse, UsageError

logger = logging.getLogger(__name__)


def run(app: AppContext, *, yes: bool = False) -> int:
    """Remove ``cache_dir`` and prune the git worktrees that lived in it.

    Raises:
        KwaakError: the directory could not be (completely) removed; exit code 1.
        SessionInUse: a live kwaak process owns a session stored in the cache.
        UsageError: no terminal to ask in and no ``--yes``.
    """
    cache_dir = app.config.cache_dir
    _refuse_unsafe(cache_dir, app.repo_root)
    sessions = _session_dirs(cache_dir)
    _refuse_in_use(sessions)
    worktrees = [p for p in (cache_dir / "worktrees").glob("*") if p.is_dir()]
    what = f"{len(sessions)} saved session(s), {len(worktrees)} worktree(s) and the code index"
    if not cache_dir.exists():
        click.echo(f"Nothing to clear: {cache_dir} does not exist")
        return 0
    if not yes:
        if not sys.stdin.isatty():
            msg = f"clear-cache would delete {what} in {cache_dir}"
            raise UsageError(msg, hint="pass --yes to delete without asking")
        if not click.confirm(f"Delete {what} in {cache_dir}? Agents' branches are kept.", default=False):
            click.echo("Nothing deleted")
            return 1
    errors: list[str] = []
    if cache_dir.exists():
        _rmtree(cache_dir, errors)
    # Agent worktrees may have lived in the cache; drop git's bookkeeping of the deleted ones.
    subprocess.run(["git", "worktree", "prune"], cwd=app.repo_root, capture_output=True, check=False)
    if errors:
        logger.error("clear-cache failed: %s", "; ".join(errors))
        msg = f"could not delete everything in {str(cache_dir)!r}: {errors[0]}"
        raise KwaakError(msg, hint="check the permissions, or stop other kwaak processes of this project")
    click.echo(f"Cache cleared: deleted {what} ({cache_dir}); agents' branches are kept")
    return 0


def _session_dirs(cache_dir: Path) -> list[Path]:
    """Every stored session in the cache (of every repository sharing it, old layout included)."""
    root = cache_dir / "sessions"
    if not root.is_dir():
        return []
    found: list[Path] = []
    for child in root.iterdir():
        if (child / "meta.json").exists():
            found.append(child)
        elif child.is_dir():
            found += [d for d in child.iterdir() if d.is_dir()]
    return found


def _refuse_in_use(sessions: list[Path]) -> None:
    owned = [(d, pid) for d in sessions if (pid := owner_pid(d)) is not None]
    if owned:
        session_dir, pid = owned[0]
        msg = f"refusing to clear the cache: session {session_dir.name[:8]} is in use by pid {pid}"
        if len(owned) > 1:
            msg += f" (and {len(owned) - 1} more)"
        raise SessionInUse(msg, pid=pid, hint="quit the kwaak processes using this project first")


def _rmtree(path: Path, errors: list[str]) -> None:
    """Remove as much as possible, collecting one message per failure."""
    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=lambda _f, p, exc: errors.append(f"{p}: {exc}"))
    else:
        shutil.rmtree(path, onerror=lambda _f, p, info: errors.append(f"{p}: {info[1]}"))


def _refuse_unsafe(cache_dir: Path, repo_root: Path) -> None:
    resolved = cache_dir.resolve()
    protected = {Path.home().resolve(), Path(resolved.anchor), repo_root.resolve()}
    if resolved in protected or resolved in repo_root.resolve().parents:
        msg = f"refusing to delete {str(cache_dir)!r}: it is not a kwaak cache directory"
        raise KwaakError(msg, hint="set `cache_dir` in kwaak.toml to a directory used only by kwaak")
