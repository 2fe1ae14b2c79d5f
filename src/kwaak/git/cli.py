"""A thin async wrapper over the ``git`` binary (no GitPython)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kwaak.errors import GitError

INHERITED_REPO_VARS = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_COMMON_DIR",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_NAMESPACE",
        "GIT_PREFIX",
        "GIT_CONFIG_PARAMETERS",
    }
)
"""Variables that would point git at another repository; never inherited from kwaak's own environment."""


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
    inherited = {k: v for k, v in os.environ.items() if k not in INHERITED_REPO_VARS}
    full_env = {**inherited, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env or {})}
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
