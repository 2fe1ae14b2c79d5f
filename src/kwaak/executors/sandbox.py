"""Run an agent's commands inside a bubblewrap sandbox.

Inside the sandbox:

* the host filesystem is **read-only** (``--ro-bind / /``) and no capability is kept
  (``--cap-drop ALL``), so not even root can remount it;
* ``/tmp`` and ``/run`` are private tmpfs (hiding the docker socket, ssh-agent and X11 sockets);
* ``$HOME`` is a private tmpfs too (no ``~/.ssh``, ``~/.aws``, ``~/.config`` …); only toolchain
  directories such as ``~/.pyenv``, ``~/.cargo/bin`` or ``~/.rustup`` are mounted back read-only;
* the agent's worktree is the only writable host directory, and git's metadata is exposed as
  described in :mod:`kwaak.executors.gitmounts`;
* all namespaces are unshared (``--unshare-all``): no network unless ``sandbox.network`` is set,
  and no view of (or signal to) host processes;
* ``--die-with-parent`` and ``--new-session`` tie the sandbox to kwaak and to no terminal;
* every command runs under the ``[limits]`` rlimits (processes, address space, file size; see
  :mod:`kwaak.executors.rlimits`), and its environment holds no configured secret
  (:mod:`kwaak.executors.envfilter`).

File reads and writes from tools run on the host, beneath the worktree without following any
link, through :mod:`kwaak.executors.safefs` (FIFOs, devices and ``.git`` writes refused).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from kwaak.errors import ExecutorUnavailable
from kwaak.executors.base import ExecutorKind
from kwaak.executors.fileworker import FileLimits
from kwaak.executors.gitmounts import WorktreeGit, worktree_git
from kwaak.executors.hostenv import user_virtualenvs
from kwaak.executors.local import DEFAULT_MAX_OUTPUT_BYTES, DEFAULT_TIMEOUT, LocalExecutor
from kwaak.executors.rlimits import ResourceLimits, rlimit_prefix

HOME_TOOLCHAINS: tuple[str, ...] = (
    ".pyenv",
    ".local/bin",
    ".local/lib",
    ".local/share/uv/python",
    ".cargo/bin",
    ".cargo/registry",
    ".rustup",
    ".nvm",
    ".volta",
    ".bun/bin",
    ".deno/bin",
    "go/bin",
    "go/pkg/mod",
    ".sdkman/candidates",
)
"""Directories under ``$HOME`` that hold toolchains (never credentials) and stay visible, read-only."""

_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH)", re.I)
_DROPPED_ENV = ("SSH_AUTH_SOCK", "DOCKER_HOST", "DBUS_SESSION_BUS_ADDRESS", "GPG_AGENT_INFO", "KRB5CCNAME")
_probe_results: dict[str, str | None] = {}


class SandboxExecutor(LocalExecutor):
    """A :class:`LocalExecutor` whose commands run under ``bwrap``."""

    kind: ExecutorKind = "sandbox"

    def __init__(
        self,
        root: Path,
        *,
        git: WorktreeGit | None = None,
        network: bool = False,
        home: Path | None = None,
        bwrap: str = "bwrap",
        env: Mapping[str, str] | None = None,
        extra_env: Mapping[str, str] | None = None,
        default_timeout: float = DEFAULT_TIMEOUT,
        file_limits: FileLimits | None = None,
        max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
        limits: ResourceLimits | None = None,
    ) -> None:
        """Prepare the sandbox for the worktree at ``root``.

        Args:
            root: The agent's worktree (the only writable host directory).
            git: Its git layout (from :func:`worktree_git`); ``None`` if it is not a worktree.
            network: Keep the host's network namespace.
            home: The home directory to hide (default: ``$HOME``).
            bwrap: The bubblewrap binary.
            env: Base environment (default: this process's, minus secrets and agent sockets).
            extra_env: Added on top (e.g. the agent's git identity).
            default_timeout: Seconds before a command is killed.
            file_limits: Bounds of host-side file reads and writes (size, time, concurrency).
            max_output_bytes: Command output kept while streaming (head and tail).
            limits: Process, memory and file-size rlimits of every command (default: none).
        """
        super().__init__(
            root,
            env=env,
            extra_env=extra_env,
            default_timeout=default_timeout,
            file_limits=file_limits,
            max_output_bytes=max_output_bytes,
        )
        self.network = network
        self.home = (home or Path(os.environ.get("HOME", "/root"))).resolve()
        self.git = git
        self._bwrap = bwrap
        visible = user_virtualenvs(env if env is not None else os.environ)
        self._args = sandbox_args(self.root, git=git, network=network, home=self.home, visible=visible)
        self._limits = limits or ResourceLimits()

    @classmethod
    async def create(
        cls,
        root: Path,
        *,
        network: bool = False,
        env: Mapping[str, str] | None = None,
        extra_env: Mapping[str, str] | None = None,
        default_timeout: float = DEFAULT_TIMEOUT,
        file_limits: FileLimits | None = None,
        max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
        limits: ResourceLimits | None = None,
    ) -> SandboxExecutor:
        """Check that bubblewrap works here, then build the sandbox for ``root``.

        Raises:
            ExecutorUnavailable: ``bwrap`` is missing or cannot create namespaces.
        """
        bwrap = shutil.which("bwrap")
        reason = await probe_bwrap(bwrap)
        if bwrap is None or reason is not None:
            msg = f"the bubblewrap sandbox cannot start: {reason}"
            hint = "install bubblewrap (`apt-get install bubblewrap`) and allow unprivileged user namespaces"
            raise ExecutorUnavailable(msg, hint=hint)
        git = await asyncio.to_thread(worktree_git, root)
        return cls(
            root,
            git=git,
            network=network,
            bwrap=bwrap,
            env=env,
            extra_env=extra_env,
            default_timeout=default_timeout,
            file_limits=file_limits,
            max_output_bytes=max_output_bytes,
            limits=limits,
        )

    def argv(self, cmd: str | Sequence[str], *, cwd: Path | None = None) -> list[str]:
        """``[rlimit shim] bwrap <isolation args> --chdir <cwd> -- <cmd>``."""
        inner = super().argv(cmd, cwd=cwd)
        return [*rlimit_prefix(self._limits), self._bwrap, *self._args, "--chdir", str(cwd or self.root), "--", *inner]

    def environment(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        """The host environment without secrets or agent sockets, plus a private HOME and TMPDIR."""
        base = super().environment(None)
        env = {k: v for k, v in base.items() if k not in _DROPPED_ENV and not _is_secret_name(k)}
        env.update(self._extra_env)
        env["HOME"] = str(self.home)
        env["TMPDIR"] = "/tmp"
        if self.git is not None:
            env.update(self.git.env())
        if extra:
            env.update(extra)
        return env


def _is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name)) and not name.startswith(("GIT_", "XDG_"))


def sandbox_args(
    root: Path, *, git: WorktreeGit | None, network: bool, home: Path, visible: Sequence[Path] = ()
) -> list[str]:
    """The bubblewrap arguments isolating a worktree at ``root`` (mount order matters)."""
    args = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--tmpfs", "/run"]
    if network:
        for name in ("/run/systemd/resolve", "/run/resolvconf"):
            if Path(name).is_dir():
                args += ["--ro-bind", name, name]
    if home != Path("/") and home.is_dir():
        args += ["--tmpfs", str(home)]
        for path in _visible_in_home(home):
            args += ["--ro-bind", str(path), str(path)]
    for path in _own_environment():
        # kwaak's environment (its python and rg) may live under /tmp or /run (e.g. a CI clone):
        # those are private in the sandbox, so bind it back, read-only.
        if any(private == path or private in path.parents for private in (Path("/tmp"), Path("/run"))):
            args += ["--ro-bind", str(path), str(path)]
    for path in visible:
        # The user's virtualenvs (and their interpreters) under the hidden $HOME or /tmp, read-only.
        args += ["--ro-bind", str(path), str(path)]
    if git is not None:
        for mount in git.mounts(str(root)):
            args += ["--ro-bind" if mount.read_only else "--bind", str(mount.source), mount.target]
    else:
        args += ["--bind", str(root), str(root)]
    args += ["--unshare-all", "--cap-drop", "ALL", "--die-with-parent", "--new-session"]
    if network:
        args.append("--share-net")
    return args


def _own_environment() -> list[Path]:
    """The directories of kwaak's own interpreter and virtualenv."""
    paths = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
    return sorted(p for p in paths if p.is_dir())


def _visible_in_home(home: Path) -> list[Path]:
    """Toolchain directories under ``home`` plus kwaak's own environment (its ``rg`` lives there)."""
    paths = [home / rel for rel in HOME_TOOLCHAINS]
    paths += _own_environment()
    seen: list[Path] = []
    for path in paths:
        if path.is_dir() and home in path.parents and not any(p == path or p in path.parents for p in seen):
            seen.append(path)
    return seen


async def probe_bwrap(bwrap: str | None) -> str | None:
    """Check once per process that bubblewrap can build a sandbox; return why not, or ``None``."""
    if bwrap is None:
        return "`bwrap` was not found on PATH"
    if bwrap in _probe_results:
        return _probe_results[bwrap]
    argv = [bwrap, "--ro-bind", "/", "/", "--unshare-all", "--cap-drop", "ALL", "--die-with-parent", "true"]
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        async with asyncio.timeout(10):
            _, err = await proc.communicate()
    except (OSError, TimeoutError) as exc:
        reason: str | None = f"`bwrap` failed to run: {exc}"
    else:
        reason = None if proc.returncode == 0 else f"`bwrap` cannot create namespaces: {err.decode().strip()}"
    _probe_results[bwrap] = reason
    return reason
