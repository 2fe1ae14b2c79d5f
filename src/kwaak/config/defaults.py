"""Defaults derived from the repository: project name, owner/repo, main branch, paths."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import platformdirs

_REMOTE_RE = re.compile(
    r"^(?:(?:https?|git|ssh)://)?(?:[^@/]+@)?[^/:]+(?::\d+)?[:/](?:.+/)?(?P<owner>[^/]+)/(?P<repo>[^/.]+)(?:\.git)?/?$"
)


def _git(repo: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def repo_root(start: Path) -> Path | None:
    """The top level of the git work tree containing ``start``, or ``None``."""
    top = _git(start, "rev-parse", "--show-toplevel")
    return Path(top) if top else None


def owner_and_repo(url: str) -> tuple[str, str] | None:
    """Extract ``(owner, repo)`` from a git remote URL (https, ssh, git@host:owner/repo)."""
    match = _REMOTE_RE.match(url.strip())
    if not match:
        return None
    return match.group("owner"), match.group("repo")


def origin_url(repo: Path) -> str | None:
    """The URL of the ``origin`` remote, if any."""
    return _git(repo, "remote", "get-url", "origin")


def default_project_name(repo: Path) -> str:
    """The origin's repository name, else the directory name."""
    url = origin_url(repo)
    parsed = owner_and_repo(url) if url else None
    return parsed[1] if parsed else repo.resolve().name


def default_main_branch(repo: Path) -> str:
    """``origin/HEAD``'s branch (no network), else the current branch if it is main/master, else ``main``."""
    ref = _git(repo, "symbolic-ref", "--short", "refs/remotes/origin/HEAD")
    if ref:
        return ref.removeprefix("origin/")
    current = _git(repo, "symbolic-ref", "--short", "HEAD")
    if current in ("main", "master"):
        return current
    return "main"


def default_cache_dir(project_name: str) -> Path:
    """``<user cache dir>/kwaak/<project>``."""
    return Path(platformdirs.user_cache_dir("kwaak")) / safe_name(project_name)


def default_log_dir(project_name: str) -> Path:
    """``<user cache dir>/kwaak/logs/<project>``."""
    return Path(platformdirs.user_cache_dir("kwaak")) / "logs" / safe_name(project_name)


def safe_name(name: str) -> str:
    """``name`` reduced to characters that are safe in a file name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name) or "project"
