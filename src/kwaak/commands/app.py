"""What every verb (except ``init`` and ``demo``) needs: the repository, its config, logging.

``load_app`` follows kwaak's start-up order: find the repository root, load the configuration,
create the cache and log directories, set up the log file and (with ``otel_enabled``) tracing,
flushed at exit, then (for verbs that change the repository through agents) refuse to start when
tracked files have uncommitted changes.
"""

from __future__ import annotations

import atexit
import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import click

from kwaak.config import Config, load_config
from kwaak.config.secrets import collect_secrets
from kwaak.errors import ConfigError, DirtyRepository, KwaakError, NotAGitRepository
from kwaak.logs import LOG_ENV, setup_logging
from kwaak.otel import setup_tracing

logger = logging.getLogger(__name__)
_MAX_LISTED = 10


@dataclass
class AppContext:
    """The loaded application: passed to every command implementation as ``app``."""

    repo_root: Path
    """The top level of the user's git work tree."""
    config: Config
    """The validated, merged configuration."""
    config_path: Path | None
    """The ``--config-path`` given on the command line, if any."""
    skip_indexing: bool
    """``-s/--skip-indexing``."""
    allow_dirty: bool
    """``--allow-dirty``."""
    log_file: Path | None = None
    """The project log file (for "see <log file>" messages)."""


def load_app(
    config_path: Path | None,
    *,
    skip_indexing: bool,
    allow_dirty: bool,
    require_clean: bool,
    cwd: Path | None = None,
) -> AppContext:
    """Find the repository, load its config, prepare directories and logging, check cleanliness.

    Args:
        config_path: ``--config-path`` (relative to the current directory), or ``None``.
        skip_indexing: ``--skip-indexing``.
        allow_dirty: ``--allow-dirty``: skip the dirty check.
        require_clean: Whether this verb refuses to run with uncommitted tracked changes.
        cwd: Where to start looking for the repository (default: the current directory).

    Raises:
        NotAGitRepository: not inside a git work tree.
        ConfigError: the configuration is missing or invalid, or a directory cannot be created.
        DirtyRepository: tracked files changed and ``require_clean and not allow_dirty``.
    """
    root = find_repo_root(cwd or Path.cwd())
    config = load_config(root, config_path=config_path)
    _make_dirs(config)
    log_file = setup_logging(
        config.log_dir, config.project_name, spec=os.environ.get(LOG_ENV), secrets=collect_secrets(config)
    )
    logger.info("kwaak started in %s (config %s)", root, config_path or "default")
    _start_tracing(config)
    if require_clean and not allow_dirty:
        check_clean(root)
    return AppContext(
        repo_root=root,
        config=config,
        config_path=config_path,
        skip_indexing=skip_indexing,
        allow_dirty=allow_dirty,
        log_file=log_file,
    )


def _start_tracing(config: Config) -> None:
    ctx = click.get_current_context(silent=True)
    shutdown = setup_tracing(config, command=ctx.command.name if ctx else None)
    if shutdown is not None:
        atexit.register(shutdown)


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30, check=False)
    except FileNotFoundError as exc:
        msg = "git is not installed or not on PATH"
        raise KwaakError(msg, hint="install git") from exc
    except subprocess.TimeoutExpired as exc:
        msg = f"`git {' '.join(args)}` did not finish within 30 seconds"
        raise KwaakError(msg, hint="check the repository for a stale lock file (.git/index.lock)") from exc


def find_repo_root(start: Path) -> Path:
    """The top level of the git work tree containing ``start``.

    Raises:
        NotAGitRepository: ``start`` is not inside a work tree.
    """
    proc = _git(start, "rev-parse", "--show-toplevel")
    top = proc.stdout.strip()
    if proc.returncode != 0 or not top:
        msg = f"{str(start)!r} is not inside a git repository"
        raise NotAGitRepository(msg, hint="run kwaak inside your project, or create a repository with `git init`")
    return Path(top)


def changed_tracked_files(root: Path) -> list[str]:
    """Tracked files with uncommitted changes (staged or not); untracked files are ignored."""
    proc = _git(root, "status", "--porcelain=v1", "-z", "--untracked-files=no")
    if proc.returncode != 0:
        msg = f"cannot check the repository state: {proc.stderr.strip()}"
        raise KwaakError(msg, hint="run `git status` to see what is wrong")
    files: list[str] = []
    entries = iter(proc.stdout.split("\0"))
    for entry in entries:
        if len(entry) < 4:
            continue
        files.append(entry[3:])
        if entry[0] in "RC":
            next(entries, None)  # the rename's source path
    return files


def check_clean(root: Path) -> None:
    """Refuse to go on when tracked files have uncommitted changes.

    Raises:
        DirtyRepository: listing (up to ten of) the changed files.
    """
    files = changed_tracked_files(root)
    if not files:
        return
    listed = ", ".join(files[:_MAX_LISTED])
    more = f" and {len(files) - _MAX_LISTED} more" if len(files) > _MAX_LISTED else ""
    msg = f"the repository has uncommitted changes: {listed}{more}"
    raise DirtyRepository(msg, hint="commit or stash them, or pass --allow-dirty")


def _make_dirs(config: Config) -> None:
    for key, path in (("cache_dir", config.cache_dir), ("log_dir", config.log_dir)):
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            msg = f"cannot create {key} {str(path)!r}: {exc.strerror or exc}"
            raise ConfigError(msg, hint=f"set `{key}` in kwaak.toml to a writable directory") from exc
