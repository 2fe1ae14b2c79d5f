"""Find and remove what a crashed kwaak left behind: agent containers and worktrees.

Resources carry an owner token (``host:pid:start``, see :mod:`kwaak.git.owner`): containers
in the ``kwaak.owner`` label, worktrees in their git lock reason. Cleanup removes those whose
session is not kept and whose owner process is gone, so two kwaak processes on one repository do
not remove each other's agents.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from collections.abc import Set
from dataclasses import dataclass, field
from pathlib import Path

from kwaak.errors import ExecutorUnavailable, KwaakError
from kwaak.executors.docker_cli import docker
from kwaak.git.owner import owner_alive
from kwaak.git.workspace import cleanup_orphans, default_worktrees_dir

log = logging.getLogger(__name__)
_FORMAT = '{{.ID}}\t{{.Names}}\t{{.Label "kwaak.project"}}\t{{.Label "kwaak.session"}}\t{{.Label "kwaak.owner"}}'


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentContainer:
    """A container started by kwaak for an agent."""

    id: str
    name: str
    project: str
    session: str
    owner: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CleanupReport:
    """What :func:`cleanup_leftovers` removed."""

    containers: list[str] = field(default_factory=list)
    worktrees: list[Path] = field(default_factory=list)


async def list_containers(project: str | None = None) -> list[AgentContainer]:
    """kwaak's agent containers (all states), optionally only those of ``project``.

    Returns an empty list when docker is not installed or not running.
    """
    label = f"label=kwaak.project={project}" if project is not None else "label=kwaak.project"
    try:
        result = await docker("ps", "--all", "--no-trunc", "--filter", label, "--format", _FORMAT, timeout=30)
    except (ExecutorUnavailable, TimeoutError):
        return []
    if not result.ok:
        return []
    containers = []
    for line in result.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 5 and parts[3]:
            cid, name, project_label, session, owner = parts
            containers.append(AgentContainer(id=cid, name=name, project=project_label, session=session, owner=owner))
    return containers


async def cleanup_containers(
    project: str | None = None, keep: Set[str] = frozenset(), *, include_live: bool = False
) -> list[str]:
    """Remove agent containers whose session is not in ``keep``.

    Args:
        project: Only this project's containers (``None``: every project).
        keep: Session ids whose containers must survive.
        include_live: Also remove containers whose owning kwaak process still runs.

    Returns:
        The names of the removed containers.
    """
    doomed = [
        c
        for c in await list_containers(project)
        if c.session not in keep and (include_live or not owner_alive(c.owner))
    ]
    if not doomed:
        return []
    result = await docker("rm", "--force", "--volumes", *(c.id for c in doomed), timeout=120)
    if not result.ok:
        log.warning("could not remove some containers: %s", result.stderr.strip())
    removed = set(result.stdout.split())
    return [c.name for c in doomed if c.id in removed or c.id[:12] in removed]


async def cleanup_leftovers(
    project: str, repo_root: Path, cache_dir: Path, keep: Set[str] = frozenset(), *, containers: bool = True
) -> CleanupReport:
    """Remove what dead kwaak processes of ``project`` left behind (call at start-up).

    Their command process groups are killed and their containers removed (a container cannot be
    re-attached: a resumed session starts a new one); their worktrees are removed unless the
    session is in ``keep`` (saved sessions keep theirs for resuming). Docker not being installed
    and git failures are logged, never raised.

    Args:
        project: ``config.project_name``.
        repo_root: The user's repository.
        cache_dir: ``config.cache_dir`` (worktrees live in ``<cache_dir>/worktrees``).
        keep: Session ids whose worktrees must survive.
        containers: Also remove containers (the backend does that in the background instead).
    """
    kill_orphaned_processes()
    removed = await cleanup_containers(project) if containers else []
    try:
        worktrees = await cleanup_orphans(repo_root, default_worktrees_dir(cache_dir), set(keep))
    except (KwaakError, OSError) as exc:
        log.warning("worktree cleanup failed: %s", exc)
        worktrees = []
    if removed or worktrees:
        log.info("removed leftovers: containers %s, worktrees %s", removed, [str(p) for p in worktrees])
    return CleanupReport(containers=removed, worktrees=worktrees)


def kill_orphaned_processes(proc_root: Path = Path("/proc")) -> list[int]:
    """Kill process groups of local commands whose kwaak process died (e.g. ``kill -9``).

    Local commands carry ``KWAAK_OWNER=<owner token>`` in their environment; a group whose owner is
    gone is an orphan. Linux only (reads ``/proc``); elsewhere nothing happens.

    Returns:
        The process group ids that were killed.
    """
    from kwaak.executors.local import OWNER_ENV

    marker = f"{OWNER_ENV}=".encode()
    groups: set[int] = set()
    for entry in proc_root.glob("[0-9]*"):
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        token = next(
            (v[len(marker) :].decode(errors="replace") for v in environ.split(b"\0") if v.startswith(marker)), None
        )
        if token is None or owner_alive(token):
            continue
        with contextlib.suppress(OSError):
            groups.add(os.getpgid(int(entry.name)))
    killed: list[int] = []
    for group in groups - {os.getpgrp()}:
        with contextlib.suppress(OSError):
            os.killpg(group, signal.SIGKILL)
            killed.append(group)
    if killed:
        log.info("killed orphaned command process groups: %s", killed)
    return killed
