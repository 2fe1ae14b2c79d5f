"""A thin async wrapper over the ``git`` binary (no GitPython)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kwaak.errors import GitError


@dataclass(frozen=True, slots=True, kw_only=True)
class GitResult:
    """Output of one git command."""

    stdout: str
    stderr: str
    returncode: int

    @property
    def ok(self) -> bool:
        """Exit code 0."""
        return self.returncode == 0


async def run_git(
    repo: Path,
    *args: str,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    input_text: str | None = None,
    timeout: float = 120,
) -> GitResult:
    """Run ``git <args>`` in ``repo``.

    Raises:
        GitError: the command failed (when ``check``) or could not start.
    """
    full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env or {})}
    try:
        proc = await asyncio.create_subprocess_exec(
            "git",
            *args,
            cwd=repo,
            env=full_env,
            stdin=asyncio.subprocess.PIPE if input_text is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        msg = f"cannot run git: {exc}"
        raise GitError(msg, hint="install git and make sure it is on PATH") from exc
    try:
        async with asyncio.timeout(timeout):
            out, err = await proc.communicate(input_text.encode() if input_text is not None else None)
    except BaseException:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    result = GitResult(
        stdout=out.decode("utf-8", errors="replace"),
        stderr=err.decode("utf-8", errors="replace"),
        returncode=proc.returncode or 0,
    )
    if check and not result.ok:
        cmd = "git " + " ".join(args)
        msg = f"`{cmd}` failed: {result.stderr.strip() or result.stdout.strip()}"
        raise GitError(msg, cmd=cmd, stderr=result.stderr)
    return result


async def git_out(repo: Path, *args: str) -> str:
    """Run a git command and return its stripped stdout."""
    return (await run_git(repo, *args)).stdout.strip()
