"""The ``docker`` CLI, driven through asyncio subprocesses, and the project's image build.

We use the CLI rather than docker-py: ``docker exec`` costs the same as a raw ``docker exec`` by
construction, the user's contexts, ``DOCKER_HOST`` and credential helpers apply unchanged, and
there is no extra dependency.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import shutil
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kwaak.config.model import Config
from kwaak.errors import ExecutorUnavailable, ImageBuildFailed

log = logging.getLogger(__name__)
LogFn = Callable[[str], None]
_DAEMON_HINT = 'start the docker daemon (or Docker Desktop), check `docker info`, or set `tool_executor = "sandbox"`'
_built: set[tuple[str, ...]] = set()
_pending: dict[tuple[str, ...], asyncio.Task[str]] = {}


@dataclass(frozen=True, slots=True, kw_only=True)
class DockerOutput:
    """Result of one docker CLI call."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        """Exit code 0."""
        return self.returncode == 0


def docker_binary() -> str:
    """Path of the docker CLI.

    Raises:
        ExecutorUnavailable: not installed.
    """
    found = shutil.which("docker")
    if found is None:
        msg = "the docker executor cannot start: the `docker` command was not found"
        raise ExecutorUnavailable(msg, hint='install docker, or set `tool_executor = "sandbox"`')
    return found


async def docker(*args: str, timeout: float = 60, input_bytes: bytes | None = None) -> DockerOutput:
    """Run ``docker <args>`` and capture its output (never raises on a non-zero exit).

    Raises:
        ExecutorUnavailable: the CLI is missing.
        TimeoutError: the call took longer than ``timeout`` (the CLI process is killed).
    """
    proc = await asyncio.create_subprocess_exec(
        docker_binary(),
        *args,
        stdin=asyncio.subprocess.PIPE if input_bytes is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(timeout):
            out, err = await proc.communicate(input_bytes)
    except BaseException:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    return DockerOutput(
        returncode=proc.returncode or 0,
        stdout=out.decode("utf-8", errors="replace"),
        stderr=err.decode("utf-8", errors="replace"),
    )


async def check_daemon(timeout: float = 15) -> None:
    """Make sure a docker engine answers (honours ``DOCKER_HOST`` and docker contexts).

    Raises:
        ExecutorUnavailable: no CLI, or the daemon is down or unreachable.
    """
    try:
        result = await docker("version", "--format", "{{.Server.Version}}", timeout=timeout)
    except TimeoutError as exc:
        msg = f"the docker daemon did not answer within {timeout:.0f}s"
        raise ExecutorUnavailable(msg, hint=_DAEMON_HINT) from exc
    if not result.ok or not result.stdout.strip():
        where = os.environ.get("DOCKER_HOST") or "the default socket"
        detail = _first_error_line(result.stderr) or "no answer"
        msg = f"the docker daemon at {where} is not reachable: {detail}"
        raise ExecutorUnavailable(msg, hint=_DAEMON_HINT)


def image_tag(project_name: str) -> str:
    """``kwaak-<project>:latest`` with the project name made a valid image name."""
    name = re.sub(r"[^a-z0-9._-]+", "-", project_name.lower()).strip("-._") or "project"
    return f"kwaak-{name}:latest"


def dockerfile_path(config: Config, repo_root: Path) -> tuple[Path, Path]:
    """``(dockerfile, context)``: the context is relative to the repo root, the Dockerfile to the context.

    Raises:
        ExecutorUnavailable: the Dockerfile does not exist.
    """
    context = repo_root / config.docker.context  # an absolute setting replaces the base
    dockerfile = context / config.docker.dockerfile
    if not dockerfile.is_file():
        msg = f"Dockerfile not found at {str(dockerfile)!r}"
        hint = (
            "create a Dockerfile for the agents (e.g. `FROM python:3.12` plus your tools), point "
            '`docker.dockerfile`/`docker.context` at it, or set `tool_executor = "sandbox"`'
        )
        raise ExecutorUnavailable(msg, hint=hint)
    return dockerfile, context


async def ensure_image(config: Config, repo_root: Path, *, on_log: LogFn | None = None) -> str:
    """Build the project's image once per process and Dockerfile content; return its tag.

    Concurrent agents share one build. The build output goes to the log (and ``on_log``).

    Raises:
        ExecutorUnavailable: no Dockerfile, or the daemon is unreachable.
        ImageBuildFailed: ``docker build`` failed (the user's Dockerfile is broken).
    """
    dockerfile, context = dockerfile_path(config, repo_root)
    digest = hashlib.sha256(dockerfile.read_bytes()).hexdigest()[:16]
    tag = image_tag(config.project_name)
    key = (tag, digest, str(dockerfile), str(context.resolve()), os.environ.get("DOCKER_HOST", ""))
    if key in _built:
        return tag
    task = _pending.get(key)
    if task is None or task.get_loop() is not asyncio.get_running_loop() or task.done():
        task = asyncio.ensure_future(_build(tag, digest, dockerfile, context, config.project_name, on_log))
        _pending[key] = task
    try:
        await asyncio.shield(task)
    finally:
        if task.done():
            _pending.pop(key, None)
    _built.add(key)
    return tag


async def _build(tag: str, digest: str, dockerfile: Path, context: Path, project: str, on_log: LogFn | None) -> str:
    args = [
        "build",
        "--force-rm",
        "--tag",
        tag,
        "--label",
        f"kwaak.project={project}",
        "--label",
        f"kwaak.dockerfile-sha={digest}",
        "--file",
        str(dockerfile),
        str(context),
    ]
    log.info("building docker image %s from %s", tag, dockerfile)
    returncode, tail = await _stream(args, on_log)
    if returncode != 0:
        output = "\n".join(tail)
        msg = f"building the docker image from {str(dockerfile)!r} failed (exit {returncode}):\n{output}"
        hint = f"fix the Dockerfile; reproduce with `docker build -f {dockerfile} {context}`"
        raise ImageBuildFailed(msg, hint=hint)
    return tag


async def _stream(args: Sequence[str], on_log: LogFn | None, keep: int = 40) -> tuple[int, list[str]]:
    """Run docker, sending each output line to the log; return the exit code and the last lines."""
    proc = await asyncio.create_subprocess_exec(
        docker_binary(), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    tail: deque[str] = deque(maxlen=keep)
    assert proc.stdout is not None
    try:
        async for raw in proc.stdout:
            line = raw.decode("utf-8", errors="replace").rstrip()
            tail.append(line)
            log.info("docker build: %s", line)
            if on_log is not None:
                on_log(line)
        await proc.wait()
    except BaseException:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    return proc.returncode or 0, list(tail)


def _first_error_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower() or "cannot" in line.lower()]
    return (errors or lines or [""])[0]
