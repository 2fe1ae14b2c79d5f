"""Start the configured executor, falling back docker → sandbox → local when one is unavailable.

Only :class:`~kwaak.errors.ExecutorUnavailable` (no docker, daemon down, no Dockerfile, no
bubblewrap) triggers a fallback, with a warning through ``on_warning``. A Dockerfile that fails
to build is the user's to fix, so :class:`~kwaak.errors.ImageBuildFailed` is raised as is. With
``executor_fallback = false`` the first failure is raised.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from kwaak.config.model import Config
from kwaak.errors import ExecutorUnavailable
from kwaak.executors.base import Executor, ExecutorKind
from kwaak.executors.docker_cli import LogFn
from kwaak.executors.envfilter import agent_environment
from kwaak.executors.fileworker import FileLimits
from kwaak.executors.hostenv import without_own_virtualenv
from kwaak.executors.local import LocalExecutor
from kwaak.executors.rlimits import ResourceLimits
from kwaak.git.commit import agent_identity_env

CHAINS: dict[ExecutorKind, tuple[ExecutorKind, ...]] = {
    "docker": ("docker", "sandbox", "local"),
    "sandbox": ("sandbox", "local"),
    "local": ("local",),
}


async def start_executor(
    config: Config,
    workspace_path: Path,
    *,
    session_id: str,
    repo_root: Path,
    on_warning: Callable[[str], None],
    on_log: LogFn | None = None,
) -> Executor:
    """Start an executor for the agent whose worktree is ``workspace_path``.

    Args:
        config: ``tool_executor``, ``executor_fallback``, ``docker.*``, ``sandbox.*`` and the agent identity.
        workspace_path: The agent's worktree.
        session_id: Names and labels the container.
        repo_root: The user's repository (the Dockerfile is found relative to it).
        on_warning: Told why an executor was skipped, once per fallback step.
        on_log: Receives docker build output lines.

    Raises:
        ExecutorUnavailable: no executor of the chain could start (or fallback is off).
        ImageBuildFailed: the project's Dockerfile does not build.
        ContainerStartFailed: the container did not start.
    """
    chain = CHAINS[config.tool_executor]
    if not config.executor_fallback:
        chain = chain[:1]
    for index, kind in enumerate(chain):
        try:
            return await _start(kind, config, workspace_path, session_id=session_id, repo_root=repo_root, on_log=on_log)
        except ExecutorUnavailable as exc:
            if index == len(chain) - 1:
                raise
            on_warning(f"{kind} executor unavailable ({exc.message}); falling back to the {chain[index + 1]} executor")
    raise AssertionError("unreachable")  # pragma: no cover


async def _start(
    kind: ExecutorKind,
    config: Config,
    workspace_path: Path,
    *,
    session_id: str,
    repo_root: Path,
    on_log: LogFn | None,
) -> Executor:
    identity = agent_identity_env(config)
    timeout = config.limits.tool_timeout_sec
    if kind == "docker":
        from kwaak.executors.docker import DockerExecutor

        return await DockerExecutor.start(
            config, workspace_path, session_id=session_id, repo_root=repo_root, extra_env=identity, on_log=on_log
        )
    files, output = FileLimits.from_config(config.limits), config.limits.max_command_output_bytes
    # Variables holding a configured secret (e.g. `env:GH_PAT`), or embedding one, stay out of the
    # agent's commands, or an `env` run by the model would copy them into transcripts and events.
    # kwaak's own virtualenv is not the project's either: agents' `python3` must not be kwaak's.
    env = agent_environment(config, without_own_virtualenv(os.environ, repo_root=repo_root))
    if kind == "sandbox":
        from kwaak.executors.sandbox import SandboxExecutor

        return await SandboxExecutor.create(
            workspace_path,
            network=config.sandbox.network,
            env=env,
            extra_env=identity,
            limits=ResourceLimits.from_config(config.limits),
            default_timeout=timeout,
            file_limits=files,
            max_output_bytes=output,
        )
    return LocalExecutor(
        workspace_path, env=env, extra_env=identity, default_timeout=timeout, file_limits=files, max_output_bytes=output
    )
