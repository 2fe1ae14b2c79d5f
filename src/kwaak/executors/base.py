"""The executor interface: where an agent's commands run (docker, bubblewrap sandbox, local)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

ExecutorKind = Literal["docker", "sandbox", "local"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecResult:
    """Combined stdout+stderr of a command, its exit code, and whether it timed out."""

    output: str
    exit_code: int
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        """Exit code 0 and no timeout."""
        return self.exit_code == 0 and not self.timed_out


@runtime_checkable
class Executor(Protocol):
    """Runs commands and file I/O for one agent, rooted at its workspace."""

    kind: ExecutorKind
    workdir: str
    """The working directory as commands see it (``/app`` in docker, the worktree path otherwise)."""

    async def exec(
        self,
        cmd: str | Sequence[str],
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> ExecResult:
        """Run ``cmd`` (a shell string for ``sh -c``, or an argv) and return its combined output.

        Cancellation and timeouts kill the whole process tree.
        """
        ...

    async def read_file(self, path: str) -> bytes:
        """Read a file relative to the workdir.

        Raises:
            FileNotFoundError, IsADirectoryError, PermissionError: as for a local file.
            kwaak.errors.ExecutorError: the executor failed.
        """
        ...

    async def write_file(self, path: str, data: bytes) -> None:
        """Write a file relative to the workdir, creating parent directories."""
        ...

    async def aclose(self) -> None:
        """Stop processes and release resources (containers are removed)."""
        ...


class PathOutsideWorkspace(ValueError):
    """A path given by the model points outside the agent's workspace."""


def resolve_in_workspace(root: Path, path: str) -> Path:
    """Resolve ``path`` (relative, or absolute under ``root``) and refuse anything outside ``root``.

    Symlinks are resolved first, so a link pointing outside the workspace is refused too.

    Raises:
        PathOutsideWorkspace: the path escapes ``root``.
    """
    root = root.resolve()
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = root / candidate
    resolved = Path(os.path.realpath(candidate))
    if resolved != root and root not in resolved.parents:
        msg = f"path {path!r} is outside the workspace"
        raise PathOutsideWorkspace(msg)
    return resolved


def write_atomically(target: Path, data: bytes) -> None:
    """Write ``target`` through a temporary file and a rename, keeping its mode.

    A failure (a full disk, a killed process) leaves the old file intact instead of half written.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.kwaak-{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        if target.exists():
            shutil.copymode(target, tmp)
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
