"""Run commands as plain subprocesses in the agent's worktree (kwaak's ``local``, but isolated)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path

from kwaak.executors.base import ExecResult, ExecutorKind, resolve_in_workspace
from kwaak.executors.fileworker import FileLimits, FileWorker
from kwaak.executors.safefs import read_beneath, write_beneath
from kwaak.git.owner import current_owner

OWNER_ENV = "KWAAK_OWNER"
"""Set on every local command: the owner token of the kwaak process that started it."""
DEFAULT_TIMEOUT = 600.0
DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024  # room for `git ls-files` of a large monorepo
TIMEOUT_MARKER = "\n[command timed out]"


class LocalExecutor:
    """A subprocess executor rooted at ``root``; kills the process group on timeout or cancel."""

    kind: ExecutorKind = "local"
    network: bool = True
    """Whether the agent's commands can reach the network (host-side tools such as fetch_url follow it)."""

    def __init__(
        self,
        root: Path,
        *,
        env: Mapping[str, str] | None = None,
        extra_env: Mapping[str, str] | None = None,
        default_timeout: float = DEFAULT_TIMEOUT,
        file_limits: FileLimits | None = None,
        max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
    ) -> None:
        """Create an executor rooted at ``root``.

        Args:
            root: The agent's worktree; commands run there and file paths resolve inside it.
            env: The complete base environment (default: this process's environment).
            extra_env: Variables added on top of the base (e.g. the agent's git identity).
            default_timeout: Seconds before a command is killed when ``exec`` gets no timeout.
            file_limits: Bounds of host-side file reads and writes (size, time, concurrency).
            max_output_bytes: Command output kept while streaming (head and tail).
        """
        self.root = root.resolve()
        self.workdir = str(self.root)
        self._env = dict(env) if env is not None else None
        self._extra_env = dict(extra_env or {})
        self.default_timeout = default_timeout
        self.files = FileWorker(file_limits)
        self.max_output_bytes = max_output_bytes
        self._closed = False

    def argv(self, cmd: str | Sequence[str], *, cwd: Path | None = None) -> list[str]:
        """The argv actually executed in ``cwd`` (subclasses wrap it, e.g. in bubblewrap)."""
        return ["sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)

    def environment(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        """The environment for a command: the executor's base env, its extra env, then ``extra``."""
        base = dict(os.environ) if self._env is None else dict(self._env)
        base.setdefault("GIT_TERMINAL_PROMPT", "0")
        base["PAGER"] = "cat"
        base["GIT_PAGER"] = "cat"
        base.update(self._extra_env)
        if extra:
            base.update(extra)
        # Tags the command's process group as ours, so a later kwaak can kill it if we die.
        base[OWNER_ENV] = current_owner().token()
        return base

    async def exec(
        self,
        cmd: str | Sequence[str],
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> ExecResult:
        """Run ``cmd`` with stdout and stderr combined; on timeout return the output so far."""
        workdir = resolve_in_workspace(self.root, cwd) if cwd else self.root
        return await run_process(
            self.argv(cmd, cwd=workdir),
            cwd=workdir,
            env=self.environment(env),
            timeout=timeout or self.default_timeout,
            max_output_bytes=self.max_output_bytes,
        )

    async def read_file(self, path: str) -> bytes:
        """Read a regular file inside the workspace (links never followed, size capped)."""
        limit = self.files.limits.max_read_bytes
        return await self.files.run(f"reading {path}", lambda: read_beneath(self.root, path, max_bytes=limit))

    async def write_file(self, path: str, data: bytes) -> None:
        """Write a file inside the workspace atomically, creating parent directories (never ``.git``)."""
        await self.files.run(f"writing {path}", lambda: write_beneath(self.root, path, data))

    async def aclose(self) -> None:
        """Nothing to release for local processes (each is reaped when it ends)."""
        self._closed = True

    async def __aenter__(self) -> LocalExecutor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


async def run_process(
    argv: Sequence[str],
    *,
    cwd: Path | None,
    env: Mapping[str, str] | None,
    timeout: float,
    on_timeout: Sequence[str] | None = None,
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
) -> ExecResult:
    """Run ``argv`` in its own process group with stdout+stderr combined.

    On timeout the group is killed and the output so far is returned with ``timed_out``; on
    cancellation the group is killed and ``CancelledError`` propagates.

    Args:
        argv: The command.
        cwd: Its working directory.
        env: Its complete environment (``None``: inherit).
        timeout: Seconds before the process group is killed.
        on_timeout: A command run (best effort) after a timeout or cancel, e.g. to kill the
            process inside a container, which killing the local ``docker exec`` does not do.
        max_output_bytes: Output kept while reading: the first and last halves of this budget
            (the middle is dropped as it streams, with a marker saying how much).
    """
    spawn = asyncio.ensure_future(
        asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    )
    try:
        proc = await asyncio.shield(spawn)
    except asyncio.CancelledError:
        # Cancelled while the child was being forked: it exists, so wait for it and kill it.
        with contextlib.suppress(Exception):
            await _kill_tree(await spawn, on_timeout)
        raise
    buffer = HeadTail(max_output_bytes)
    try:
        async with asyncio.timeout(timeout):
            await _pump(proc, buffer)
            await proc.wait()
    except TimeoutError:
        await _kill_tree(proc, on_timeout)
        return ExecResult(output=buffer.text() + TIMEOUT_MARKER, exit_code=124, timed_out=True)
    except BaseException:
        await asyncio.shield(_kill_tree(proc, on_timeout))
        raise
    return ExecResult(output=buffer.text(), exit_code=proc.returncode or 0)


class HeadTail:
    """A bounded output buffer: the first ``limit // 2`` bytes and the last ``limit // 2``."""

    def __init__(self, limit: int) -> None:
        """Keep at most about ``limit`` bytes."""
        self.head_limit = limit // 2
        self.tail_limit = limit - self.head_limit
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def add(self, chunk: bytes) -> None:
        """Append ``chunk``, dropping from the middle once the head is full."""
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        self.tail += chunk
        excess = len(self.tail) - self.tail_limit
        if excess > 0:
            del self.tail[:excess]
            self.dropped += excess

    def text(self) -> str:
        """The kept output as text, with a marker where bytes were dropped."""
        head = self.head.decode("utf-8", errors="replace")
        if not self.dropped:
            return head + self.tail.decode("utf-8", errors="replace")
        tail = self.tail.decode("utf-8", errors="replace")
        return f"{head}\n[... {self.dropped} bytes of output omitted while the command ran ...]\n{tail}"


async def _pump(proc: asyncio.subprocess.Process, buffer: HeadTail) -> None:
    assert proc.stdout is not None
    while chunk := await proc.stdout.read(65536):
        buffer.add(chunk)


async def _kill_tree(proc: asyncio.subprocess.Process, on_timeout: Sequence[str] | None = None) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(proc.wait(), 5)
    if on_timeout:
        with contextlib.suppress(Exception):
            killer = await asyncio.create_subprocess_exec(
                *on_timeout, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
            )
            await asyncio.wait_for(killer.wait(), 10)
