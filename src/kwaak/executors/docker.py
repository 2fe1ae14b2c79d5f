"""One docker container per agent, with the agent's worktree bind-mounted at the workdir.

* The image is the project's Dockerfile, built once per process (:func:`ensure_image`).
* The container keeps running with an idle ``tail -f /dev/null`` under ``--init``; every command
  is a ``docker exec -w <workdir> <container> sh -c <cmd>``.
* The worktree appears at ``docker.workdir`` (``/app`` for every agent). The repository's git
  directories are mounted at their host paths, read-only except what git needs for this worktree
  (see :mod:`kwaak.executors.gitmounts`), so ``git status``/``diff``/``add`` work inside while the
  host repository cannot be damaged. Commits are made by kwaak on the host.
* ``rg`` comes from the host (the ``ripgrep`` wheel's binary, linked only against glibc), mounted
  read-only at ``/usr/local/bin/rg``; it does not run on musl images such as Alpine.
* Commands run as the worktree owner's uid:gid (root only when root owns the worktree), so files
  the agent creates are not root-owned; ``HOME`` is ``/tmp`` inside the container.
* Containers keep no capability (``--cap-drop ALL`` plus ``limits.container_capabilities``),
  cannot gain privileges (``no-new-privileges``), are bounded by ``[limits]`` (``--pids-limit``,
  ``--memory`` without swap, ``--ulimit fsize``) and have no network unless ``docker.network``
  (:mod:`kwaak.executors.rlimits`).
* Containers carry the labels ``kwaak.project``, ``kwaak.session`` and ``kwaak.owner`` so
  leftovers of a crash can be found (:mod:`kwaak.executors.cleanup`); ``aclose`` removes it.
* ``DOCKER_HOST`` is honoured. With a *remote* engine the bind mounts refer to paths on the
  engine's machine, so the worktree must be visible there under the same path (a shared
  filesystem); start-up checks this and fails with a clear error otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

from kwaak.config.model import Config
from kwaak.errors import ContainerStartFailed, ExecutorError
from kwaak.executors.base import ExecResult, ExecutorKind, resolve_in_workspace
from kwaak.executors.docker_cli import LogFn, check_daemon, docker, docker_binary, ensure_image, image_tag
from kwaak.executors.envfilter import agent_environment
from kwaak.executors.fileworker import FileLimits, FileWorker
from kwaak.executors.gitmounts import Mount, worktree_git
from kwaak.executors.local import DEFAULT_MAX_OUTPUT_BYTES, DEFAULT_TIMEOUT, run_process
from kwaak.executors.rlimits import ResourceLimits, docker_limit_args
from kwaak.executors.safefs import read_beneath, write_beneath
from kwaak.git.commit import agent_identity_env
from kwaak.git.owner import current_owner

log = logging.getLogger(__name__)
EXEC_MARK = "KWAAK_EXEC_ID"
_GONE = ("No such container", "is not running", "is paused")
# Kill every process of one exec: they all inherit its marker in their environment.
_KILL_SCRIPT = (
    'for p in /proc/[0-9]*; do tr "\\000" "\\n" < "$p/environ" 2>/dev/null | grep -qx "$1" '
    '&& kill -9 "${p#/proc/}" 2>/dev/null; done; true'
)
_CHECK_SCRIPT = (
    'test -e "$1/.git" || echo NO_MOUNT; command -v git >/dev/null || echo NO_GIT; '
    "rg --version >/dev/null 2>&1 || echo NO_RG"
)


class DockerExecutor:
    """Runs an agent's commands in its own container."""

    kind: ExecutorKind = "docker"
    network: bool = True
    """Whether the container has a network (host-side tools such as fetch_url follow it)."""

    def __init__(
        self,
        *,
        container: str,
        root: Path,
        workdir: str,
        default_timeout: float = DEFAULT_TIMEOUT,
        file_limits: FileLimits | None = None,
        max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
    ) -> None:
        """Wrap an already running container (use :meth:`start` to create one).

        Args:
            container: The container's name.
            root: The worktree on the host (mounted at ``workdir``).
            workdir: Where the worktree appears in the container.
            default_timeout: Seconds before a command is killed.
            file_limits: Bounds of host-side file reads and writes (size, time, concurrency).
            max_output_bytes: Command output kept while streaming (head and tail).
        """
        self.container = container
        self.root = root.resolve()
        self.workdir = workdir
        self.default_timeout = default_timeout
        self.files = FileWorker(file_limits)
        self.max_output_bytes = max_output_bytes
        self._docker = docker_binary()
        self._closed = False

    @classmethod
    async def start(
        cls,
        config: Config,
        workspace_path: Path,
        *,
        session_id: str,
        repo_root: Path,
        extra_env: Mapping[str, str] | None = None,
        on_log: LogFn | None = None,
    ) -> DockerExecutor:
        """Build the image if needed and start the agent's container.

        Raises:
            ExecutorUnavailable: no docker, daemon down, or no Dockerfile (a fallback may apply).
            ImageBuildFailed: the project's Dockerfile does not build.
            ContainerStartFailed: the container did not start or cannot see the worktree.
        """
        await check_daemon()
        image = await ensure_image(config, repo_root, on_log=on_log)
        name = container_name(config.project_name, session_id)
        git = await asyncio.to_thread(worktree_git, workspace_path, repo_root)
        workdir = config.docker.workdir
        env = {"HOME": "/tmp", "GIT_TERMINAL_PROMPT": "0", "PAGER": "cat", "GIT_PAGER": "cat", **git.env()}
        env.update(agent_identity_env(config))
        volumes = cache_volumes(config)
        if volumes:
            env.update(CACHE_ENV)
        env.update(extra_env or {})
        env = agent_environment(config, env)
        args = run_args(
            name=name,
            image=image,
            project=config.project_name,
            session_id=session_id,
            mounts=[*git.mounts(workdir), *_rg_mount()],
            workdir=workdir,
            env=env,
            volumes=volumes,
            limits=docker_limit_args(ResourceLimits.from_config(config.limits), network=config.docker.network),
            user=_worktree_owner(workspace_path),
        )
        await docker("rm", "--force", "--volumes", name, timeout=60)
        result = await docker(*args, timeout=120)
        if not result.ok:
            msg = f"starting the container {name!r} from {image!r} failed: {result.stderr.strip()}"
            hint = "the image needs `sh` and `tail`; check `docker run --rm -it <image> sh` works"
            raise ContainerStartFailed(msg, hint=hint)
        timeout = config.limits.tool_timeout_sec
        executor = cls(
            container=name,
            root=workspace_path,
            workdir=workdir,
            default_timeout=timeout,
            file_limits=FileLimits.from_config(config.limits),
            max_output_bytes=config.limits.max_command_output_bytes,
        )
        executor.network = config.docker.network  # host-side tools (fetch_url) follow the container's network
        await executor._check_container()
        if volumes and os.getuid() != 0:
            # A new volume is root's; agents run as the host user, and they all share it.
            await docker("exec", "--user", "0", name, "chmod", "1777", CACHE_DIR, timeout=60)
        return executor

    async def _check_container(self) -> None:
        check = await self.exec(["sh", "-c", _CHECK_SCRIPT, "sh", self.workdir], timeout=60)
        if "NO_MOUNT" in check.output or not check.ok:
            await self.aclose()
            remote = os.environ.get("DOCKER_HOST", "")
            msg = f"the agent's worktree is not visible at {self.workdir!r} in container {self.container!r}"
            hint = (
                f"DOCKER_HOST={remote!r} is a remote engine: bind mounts need the worktree at the same path there"
                if remote and not remote.startswith("unix://")
                else "check that the docker engine may bind-mount the kwaak cache directory"
            )
            raise ContainerStartFailed(msg, hint=hint)
        if "NO_GIT" in check.output:
            log.warning("git is not installed in the image of %s: git tools will fail", self.container)
        if "NO_RG" in check.output:
            log.warning("rg does not run in %s (musl image?): install ripgrep in the Dockerfile", self.container)

    async def exec(
        self,
        cmd: str | Sequence[str],
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> ExecResult:
        """Run ``cmd`` in the container (``sh -c`` for strings) with stdout and stderr combined."""
        mark = f"{EXEC_MARK}={secrets.token_hex(8)}"
        argv = [self._docker, "exec", "--workdir", self._container_cwd(cwd), "--env", mark]
        for key, value in (env or {}).items():
            argv += ["--env", f"{key}={value}"]
        argv += [self.container, *(["sh", "-c", cmd] if isinstance(cmd, str) else cmd)]
        killer = [self._docker, "exec", self.container, "sh", "-c", _KILL_SCRIPT, "sh", mark]
        result = await run_process(
            argv,
            cwd=None,
            env=None,
            timeout=timeout or self.default_timeout,
            on_timeout=killer,
            max_output_bytes=self.max_output_bytes,
        )
        if result.exit_code != 0 and not result.timed_out:
            self._raise_if_gone(result.output)
        return result

    def _raise_if_gone(self, output: str) -> None:
        first = output.lstrip().splitlines()[0] if output.strip() else ""
        if first.startswith("Error response from daemon") and any(s in first for s in _GONE):
            msg = f"the agent's container {self.container!r} is gone: {first}"
            raise ExecutorError(msg, hint="the container was removed or stopped outside kwaak; restart the chat")
        if first.startswith(("Cannot connect to the Docker daemon", "error during connect")):
            msg = f"lost the docker daemon while running a command in {self.container!r}: {first}"
            raise ExecutorError(msg, hint="start the docker daemon again, then restart the chat")

    def _container_cwd(self, cwd: str | None) -> str:
        if not cwd:
            return self.workdir
        host = resolve_in_workspace(self.root, self._host_path(cwd))
        rel = host.relative_to(self.root)
        return str(PurePosixPath(self.workdir) / rel) if rel.parts else self.workdir

    def _host_path(self, path: str) -> str:
        """Translate a container path under the workdir to the host worktree."""
        pure = PurePosixPath(path)
        work = PurePosixPath(self.workdir)
        if pure.is_absolute() and (pure == work or work in pure.parents):
            return str(self.root / pure.relative_to(work))
        return path

    async def read_file(self, path: str) -> bytes:
        """Read a regular file of the worktree on the host (links never followed, size capped)."""
        host, limit = self._host_path(path), self.files.limits.max_read_bytes
        return await self.files.run(f"reading {path}", lambda: read_beneath(self.root, host, max_bytes=limit))

    async def write_file(self, path: str, data: bytes) -> None:
        """Write a file of the worktree on the host atomically, creating parent directories (never ``.git``)."""
        host = self._host_path(path)
        await self.files.run(f"writing {path}", lambda: write_beneath(self.root, host, data))

    async def aclose(self) -> None:
        """Remove the container (idempotent)."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            result = await asyncio.shield(docker("rm", "--force", "--volumes", self.container, timeout=60))
            if not result.ok and "No such container" not in result.stderr:
                log.warning("could not remove container %s: %s", self.container, result.stderr.strip())

    async def __aenter__(self) -> DockerExecutor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def container_name(project: str, session_id: str) -> str:
    """``kwaak-<project>-<session id>``: unique per session, recognisable in ``docker ps``."""
    return f"{image_tag(project).split(':')[0]}-{session_id}"


def run_args(
    *,
    name: str,
    image: str,
    project: str,
    session_id: str,
    mounts: Sequence[Mount],
    workdir: str,
    env: Mapping[str, str],
    volumes: Sequence[tuple[str, str]] = (),
    limits: Sequence[str] = (),
    user: str | None = None,
) -> list[str]:
    """The ``docker run`` arguments (``volumes``: named volume → target; ``limits`` from :func:`docker_limit_args`)."""
    args = ["run", "--detach", "--init", "--name", name, "--entrypoint", "tail", "--workdir", workdir]
    args += ["--label", f"kwaak.project={project}", "--label", f"kwaak.session={session_id}"]
    args += ["--label", f"kwaak.owner={current_owner().token()}", *limits]
    if user is not None:
        args += ["--user", user]
    for mount in mounts:
        spec = f"type=bind,source={mount.source},target={mount.target}"
        args += ["--mount", spec + (",readonly" if mount.read_only else "")]
    for volume, target in volumes:
        args += ["--mount", f"type=volume,source={volume},target={target}"]
    for key, value in env.items():
        args += ["--env", f"{key}={value}"]
    return [*args, image, "-f", "/dev/null"]


CACHE_DIR = "/kwaak-cache"
"""Where the project's shared package cache volume appears in every agent's container."""
CACHE_ENV = {
    "PIP_CACHE_DIR": f"{CACHE_DIR}/pip",
    "UV_CACHE_DIR": f"{CACHE_DIR}/uv",
    "npm_config_cache": f"{CACHE_DIR}/npm",
    "YARN_CACHE_FOLDER": f"{CACHE_DIR}/yarn",
}
"""Package managers' cache locations inside the volume (cargo's is set per image: ``CARGO_HOME``)."""


def cache_volumes(config: Config) -> list[tuple[str, str]]:
    """The named volume ``kwaak-cache-<project>`` shared by the project's agents (``docker.shared_cache``)."""
    if not config.docker.shared_cache:
        return []
    return [(f"{image_tag(config.project_name).split(':')[0]}-cache", CACHE_DIR)]


def _worktree_owner(worktree: Path) -> str | None:
    """``uid:gid`` of the worktree's owner, so commands are not root (``None`` when root owns it)."""
    st = worktree.stat()
    return f"{st.st_uid}:{st.st_gid}" if st.st_uid != 0 else None


def _rg_mount() -> list[Mount]:
    """The host's ripgrep (prefer the one next to our interpreter, from the ``ripgrep`` wheel)."""
    candidates = [Path(sys.executable).parent / "rg", Path(shutil.which("rg") or "/nonexistent")]
    for path in candidates:
        if path.is_file():
            return [Mount(source=path.resolve(), target="/usr/local/bin/rg", read_only=True)]
    return []
