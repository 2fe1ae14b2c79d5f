"""Run commands as plain subprocesses in the agent's worktree (kwaak's ``local``, but isolated)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path

from kwaak.executors.base import ExecResult, ExecutorKind, resolve_in_workspace

DEFAULT_TIMEOUT = 600.0


class LocalExecutor:
    """A subprocess executor rooted at ``root``; kills the process group on timeout or cancel."""

    kind: ExecutorKind = "local"

    def __init__(self, root: Path, *, env: Mapping[str, str] | None = None, default_timeout: float = DEFAULT_TIMEOUT) -> None:
        self.root = root.resolve()
        self.workdir = str(self.root)
        self._env = dict(env) if env is not None else None
        self.default_timeout = default_timeout
        self._closed = False

    def argv(self, cmd: str | Sequence[str]) -> list[str]:
        """The argv actually executed (subclasses wrap it, e.g. in bubblewrap)."""
        return ["sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)

    def environment(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        """The environment for a command: the executor's base env plus ``extra``."""
        base = dict(os.environ) if self._env is None else dict(self._env)
        base.setdefault("GIT_TERMINAL_PROMPT", "0")
        base["PAGER"] = "cat"
        base["GIT_PAGER"] = "cat"
        if extra:
            base.update(extra)
        return base

    async def exec(
        self,
        cmd: str | Sequence[str],
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> ExecResult:
        """Run ``cmd`` with stdout and stderr combined."""
        workdir = resolve_in_workspace(self.root, cwd) if cwd else self.root
        proc = await asyncio.create_subprocess_exec(
            *self.argv(cmd),
            cwd=workdir,
            env=self.environment(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            async with asyncio.timeout(timeout or self.default_timeout):
                out, _ = await proc.communicate()
        except TimeoutError:
            await _kill_tree(proc)
            partial = await _drain(proc)
            return ExecResult(output=partial + "\n[command timed out]", exit_code=124, timed_out=True)
        except BaseException:
            await _kill_tree(proc)
            raise
        return ExecResult(output=out.decode("utf-8", errors="replace"), exit_code=proc.returncode or 0)

    async def read_file(self, path: str) -> bytes:
        """Read a file inside the workspace."""
        target = resolve_in_workspace(self.root, path)
        return await asyncio.to_thread(target.read_bytes)

    async def write_file(self, path: str, data: bytes) -> None:
        """Write a file inside the workspace, creating parent directories."""
        target = resolve_in_workspace(self.root, path)

        def write() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)

        await asyncio.to_thread(write)

    async def aclose(self) -> None:
        """Nothing to release for local processes (each is reaped when it ends)."""
        self._closed = True


async def _kill_tree(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(proc.wait(), 5)


async def _drain(proc: asyncio.subprocess.Process) -> str:
    if proc.stdout is None:
        return ""
    try:
        data = await asyncio.wait_for(proc.stdout.read(), 1)
    except (TimeoutError, Exception):
        return ""
    return data.decode("utf-8", errors="replace")
