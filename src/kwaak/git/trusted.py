"""Host-side git on an agent's worktree that trusts nothing the agent can write.

kwaak runs ``git status``/``add``/``commit``/``diff``/``push`` for an agent on the host, outside
any sandbox. Everything in the worktree is attacker-controlled (the model is untrusted input), and
so is the worktree's own git dir (``<repo>/.git/worktrees/<name>``, writable by sandboxed agents so
that their ``git add`` works). Host git therefore runs:

* with ``GIT_DIR``, ``GIT_COMMON_DIR`` and ``GIT_WORK_TREE`` that kwaak computed itself from the
  user's repository (:func:`locate`) — never from the worktree's ``.git`` pointer file or the
  ``commondir`` file, which an agent could redirect to a fake git dir;
* with ``GIT_CONFIG_NOSYSTEM=1`` and command-line settings that win over every config file:
  ``core.fsmonitor=false``, ``core.hooksPath`` set to an empty directory kwaak owns,
  ``core.untrackedCache=false``, no submodule recursion or status (``submodule.recurse=false``,
  ``diff.ignoreSubmodules=all``), no GPG signing and no external diff. ``-c`` settings are passed
  to every git child process too (``GIT_CONFIG_PARAMETERS``);
* after emptying a ``config.worktree`` the agent wrote (read by git when the user's repository has
  ``extensions.worktreeConfig``; isolated executors pin the file read-only, see
  :mod:`kwaak.executors.gitmounts`);
* never descending into repositories nested in the worktree: they are excluded from staging
  (:func:`stage_pathspec`), so no gitlink the agent planted is ever committed, and status ignores
  submodules (git would otherwise run ``git status`` *inside* them, with their config and hooks).

The user's global configuration (``~/.gitconfig``) is kept: it is the user's, not writable from the
sandbox (private ``$HOME``) or a container, and holds what the user expects git to do (LFS filters,
excludes, ``insteadOf`` rewrites). The ``local`` executor is not a security boundary (see
``docs/security.md``), but the rules above still apply to it.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kwaak.errors import GitError
from kwaak.git.cli import GitResult, run_git

log = logging.getLogger(__name__)

SAFE_CONFIG: tuple[tuple[str, str], ...] = (
    ("core.fsmonitor", "false"),
    ("core.untrackedCache", "false"),
    ("core.splitIndex", "false"),
    ("submodule.recurse", "false"),
    ("diff.ignoreSubmodules", "all"),
    ("status.submoduleSummary", "false"),
    ("commit.gpgSign", "false"),
    ("tag.gpgSign", "false"),
    ("diff.external", ""),
    ("core.pager", "cat"),
    ("advice.addEmbeddedRepo", "false"),
)
"""Command-line settings for every host git call on an agent's worktree (``core.hooksPath`` is added)."""

_known: dict[Path, AgentGit] = {}
_hooks_dir: Path | None = None


def empty_hooks_dir() -> Path:
    """An empty directory owned by this process, used as ``core.hooksPath`` (removed at exit)."""
    global _hooks_dir
    if _hooks_dir is None or not _hooks_dir.is_dir():
        _hooks_dir = Path(tempfile.mkdtemp(prefix="kwaak-nohooks-"))
        atexit.register(_remove_hooks_dir, _hooks_dir)
    return _hooks_dir


def _remove_hooks_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.rmdir()


def safe_config_args() -> list[str]:
    """``-c key=value`` arguments that neutralise every command hook git could take from config."""
    args: list[str] = []
    for key, value in (*SAFE_CONFIG, ("core.hooksPath", str(empty_hooks_dir()))):
        args += ["-c", f"{key}={value}"]
    return args


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentGit:
    """The git directories of one agent worktree, as computed by kwaak (all resolved host paths)."""

    worktree: Path
    git_dir: Path
    """The worktree's own git dir (``<common>/worktrees/<name>``); the common dir for a main checkout."""
    common_dir: Path

    @property
    def is_linked(self) -> bool:
        """Whether this is a linked worktree (not the repository's main checkout)."""
        return self.git_dir != self.common_dir

    def env(self) -> dict[str, str]:
        """Environment pinning git to kwaak's view of the repository."""
        return {
            "GIT_DIR": str(self.git_dir),
            "GIT_COMMON_DIR": str(self.common_dir),
            "GIT_WORK_TREE": str(self.worktree),
            "GIT_CONFIG_NOSYSTEM": "1",
        }

    async def run(
        self,
        *args: str,
        check: bool = True,
        env: Mapping[str, str] | None = None,
        input_text: str | None = None,
        timeout: float = 120,
    ) -> GitResult:
        """Run ``git <safe -c settings> <args>`` on the worktree (cwd: the worktree).

        Raises:
            GitError: the command failed (when ``check``) or could not start.
        """
        neutralize_worktree_config(self)
        full_env = {**self.env(), **(env or {})}
        return await run_git(
            self.worktree, *safe_config_args(), *args, check=check, env=full_env, input_text=input_text, timeout=timeout
        )

    async def out(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        """Stripped stdout of a checked :meth:`run`."""
        return (await self.run(*args, env=env)).stdout.strip()

    async def run_common(
        self, *args: str, check: bool = True, env: Mapping[str, str] | None = None, timeout: float = 120
    ) -> GitResult:
        """Run git on the repository's common dir only (no work tree, no per-worktree files): pushes, remotes."""
        common_env = {"GIT_DIR": str(self.common_dir), "GIT_CONFIG_NOSYSTEM": "1", **(env or {})}
        return await run_git(self.common_dir, *args, check=check, env=common_env, timeout=timeout)


def neutralize_worktree_config(layout: AgentGit) -> None:
    """Empty a ``config.worktree`` in the worktree's git dir that is not kwaak's (empty) file.

    Git reads it when the user's repository sets ``extensions.worktreeConfig``; only the agent
    could have written it (kwaak creates it empty), so its settings are dropped, with a warning.
    """
    if not layout.is_linked:
        return
    path = layout.git_dir / "config.worktree"
    try:
        if not path.is_symlink() and (not path.exists() or (path.is_file() and path.stat().st_size == 0)):
            return
    except OSError:
        pass
    log.warning("ignoring %s written inside the agent's git dir", path)
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            path.rename(path.with_name(f"config.worktree.ignored-{id(path)}"))
        else:
            path.unlink()
        path.write_bytes(b"")


def locate(repo_root: Path, worktree: Path) -> AgentGit:
    """Compute (and remember) the git dirs of ``worktree`` from the user's repository ``repo_root``.

    The common dir comes from ``repo_root``; the worktree's git dir is the entry of
    ``<common>/worktrees/`` whose ``gitdir`` file names ``<worktree>/.git``. Nothing is read from
    the worktree itself.

    Raises:
        GitError: ``repo_root`` is not a repository, or ``worktree`` is not one of its worktrees.
    """
    worktree = worktree.resolve()
    repo_root = repo_root.resolve()
    try:
        own, common = subprocess.run(
            ["git", "rev-parse", "--path-format=absolute", "--git-dir", "--git-common-dir"],
            cwd=repo_root,
            env={"GIT_CONFIG_NOSYSTEM": "1", "PATH": _path(), "LC_ALL": "C"},
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.split("\n")[:2]
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        msg = f"{str(repo_root)!r} is not a git repository"
        raise GitError(msg, hint="run kwaak inside your project's git repository") from exc
    common_dir = Path(common).resolve()
    if worktree == repo_root:
        # The user's own checkout (a main checkout, or a linked worktree the user made).
        layout = AgentGit(worktree=worktree, git_dir=Path(own).resolve(), common_dir=common_dir)
    else:
        layout = AgentGit(worktree=worktree, git_dir=_admin_dir(common_dir, worktree), common_dir=common_dir)
    _known[worktree] = layout
    return layout


def _path() -> str:
    return os.environ.get("PATH", "/usr/bin:/bin")


def _admin_dir(common_dir: Path, worktree: Path) -> Path:
    expected = worktree / ".git"
    root = common_dir / "worktrees"
    candidates = sorted(root.iterdir()) if root.is_dir() else []
    preferred = [p for p in candidates if p.name == worktree.name] + [p for p in candidates if p.name != worktree.name]
    for admin in preferred:
        try:
            target = (admin / "gitdir").read_text(encoding="utf-8").strip()
        except OSError:
            continue
        if target and Path(target).resolve() == expected:
            return admin.resolve()
    msg = f"{str(worktree)!r} is not a worktree of the repository at {str(common_dir)!r}"
    raise GitError(msg, hint="the agent's workspace must be created by kwaak (`create_workspace`)")


def agent_git(worktree: Path, repo_root: Path | None = None) -> AgentGit:
    """kwaak's layout for ``worktree``: remembered from :func:`locate`, else computed from ``repo_root``.

    A path kwaak never located is accepted only as a main checkout (its ``.git`` a real directory):
    the user's own repository, e.g. a tool run on the project itself.

    Raises:
        GitError: the worktree is unknown and not a repository's main checkout.
    """
    resolved = worktree.resolve()
    if (known := _known.get(resolved)) is not None:
        return known
    if repo_root is not None:
        return locate(repo_root, resolved)
    dot_git = resolved / ".git"
    if dot_git.is_dir() and not dot_git.is_symlink():
        return locate(resolved, resolved)
    msg = f"kwaak does not know the repository of the worktree {str(resolved)!r}"
    raise GitError(msg, hint="the agent's workspace must be created or restored by kwaak")


def known_layout(path: Path) -> AgentGit | None:
    """The layout of ``path`` if it is a worktree kwaak located, or a repository's main checkout."""
    try:
        return agent_git(path)
    except GitError:
        return None


async def run_tree_git(path: Path, *args: str, check: bool = False, env: Mapping[str, str] | None = None) -> GitResult:
    """Hardened git in a work tree that may be an agent's (index overlays, file copies...).

    Known worktrees and main checkouts get :meth:`AgentGit.run`; any other directory still gets
    the safe ``-c`` settings and no system config.
    """
    layout = known_layout(path)
    if layout is not None:
        return await layout.run(*args, check=check, env=env)
    safe_env = {"GIT_CONFIG_NOSYSTEM": "1", **(env or {})}
    return await run_git(path, *safe_config_args(), *args, check=check, env=safe_env)


def forget(worktree: Path) -> None:
    """Drop a removed worktree from the registry."""
    _known.pop(worktree.resolve(), None)


BYTECODE_EXCLUDES = (":(top,glob,exclude)**/__pycache__/**", ":(top,glob,exclude)**/*.py[co]")


async def stage_pathspec(layout: AgentGit) -> list[str]:
    """Pathspec for ``git add --all`` that leaves out nested repositories and gitlinks.

    An untracked directory holding a repository (``.git`` dir or file) is listed by git with a
    trailing ``/``; tracked gitlinks (mode 160000) are submodules. Both are excluded: the host
    never records a gitlink the agent made and never runs git inside a nested repository.
    Python's bytecode caches (``__pycache__``, ``*.pyc``) that the agent's test runs leave are never
    committed either, even in a repository whose ``.gitignore`` does not list them.
    """
    others = await layout.run("ls-files", "-z", "--others", "--exclude-standard")
    nested = [p.rstrip("/") for p in others.stdout.split("\0") if p.endswith("/")]
    staged = await layout.run("ls-files", "-z", "--stage")
    for entry in staged.stdout.split("\0"):
        meta, _, path = entry.partition("\t")
        if meta.startswith("160000 "):
            nested.append(path)
    return [":/", *BYTECODE_EXCLUDES, *(f":(top,literal,exclude){p}" for p in nested)]
