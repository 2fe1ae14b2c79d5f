"""``kwaak clear-cache``: delete this project's cache directory (index, sessions, worktrees)."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path

import click

from kwaak.commands.app import AppContext
from kwaak.errors import KwaakError

logger = logging.getLogger(__name__)


def run(app: AppContext) -> int:
    """Remove ``cache_dir`` and prune the git worktrees that lived in it.

    Raises:
        KwaakError: the directory could not be (completely) removed; exit code 1.
    """
    cache_dir = app.config.cache_dir
    _refuse_unsafe(cache_dir, app.repo_root)
    errors: list[str] = []
    if cache_dir.exists():
        _rmtree(cache_dir, errors)
    # Agent worktrees may have lived in the cache; drop git's bookkeeping of the deleted ones.
    subprocess.run(["git", "worktree", "prune"], cwd=app.repo_root, capture_output=True, check=False)
    if errors:
        logger.error("clear-cache failed: %s", "; ".join(errors))
        msg = f"could not delete everything in {str(cache_dir)!r}: {errors[0]}"
        raise KwaakError(msg, hint="check the permissions, or stop other kwaak processes of this project")
    click.echo("Cache cleared")
    return 0


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
