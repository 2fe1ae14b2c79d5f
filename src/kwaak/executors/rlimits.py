"""Resource limits of an agent's commands (``[limits]``): processes, memory and file size.

Docker enforces them with cgroups (``--pids-limit``, ``--memory``) and ``--ulimit fsize``
(:func:`docker_limit_args`). The bubblewrap sandbox has no cgroup of its own, so its commands run
under ``setrlimit``: ``RLIMIT_NPROC``, ``RLIMIT_AS`` (address space) and ``RLIMIT_FSIZE``, set by
a tiny shim run with kwaak's own interpreter right before it execs ``bwrap``
(:func:`rlimit_prefix`); limits are inherited by everything the command starts.

``RLIMIT_NPROC`` counts every task (process or thread) of the *user*, not of one agent: a desktop
session alone may have thousands. So the sandbox's limit is the user's current task count plus
``max_processes`` — the agent may start that many more. Linux does not enforce it for root (see
docs/security.md); docker's pids cgroup is per container and has neither problem.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from kwaak.config.model import LimitsConfig

MIB = 1024 * 1024
_SHIM = (
    "import os,resource,sys\n"
    "for name,value in zip(('NPROC','AS','FSIZE'),sys.argv[1:4]):\n"
    "    value=int(value)\n"
    "    if value>0:\n"
    "        kind=getattr(resource,'RLIMIT_'+name)\n"
    "        hard=resource.getrlimit(kind)[1]\n"
    "        value=value if hard==resource.RLIM_INFINITY else min(value,hard)\n"
    "        resource.setrlimit(kind,(value,value))\n"
    "os.execvp(sys.argv[4],sys.argv[4:])\n"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourceLimits:
    """Per-agent limits; ``None`` means unlimited."""

    processes: int | None = None
    memory_bytes: int | None = None
    file_size_bytes: int | None = None
    capabilities: tuple[str, ...] = ()
    """Capabilities containers keep (all others are dropped)."""

    @classmethod
    def from_config(cls, limits: LimitsConfig) -> ResourceLimits:
        """The ``[limits]`` keys that bound commands."""
        return cls(
            processes=limits.max_processes,
            memory_bytes=limits.max_memory_mb * MIB if limits.max_memory_mb else None,
            file_size_bytes=limits.max_file_size_mb * MIB if limits.max_file_size_mb else None,
            capabilities=limits.container_capabilities,
        )

    @property
    def any(self) -> bool:
        """Whether any rlimit is set."""
        return bool(self.processes or self.memory_bytes or self.file_size_bytes)


def rlimit_prefix(limits: ResourceLimits) -> list[str]:
    """An argv prefix that applies the limits, then execs the rest of the argv (empty if unlimited)."""
    if not limits.any:
        return []
    processes = limits.processes + user_tasks() if limits.processes else None
    values = (processes, limits.memory_bytes, limits.file_size_bytes)
    return [sys.executable, "-S", "-c", _SHIM, *(str(v or 0) for v in values)]


def user_tasks(uid: int | None = None) -> int:
    """How many tasks (threads included) run with real uid ``uid`` now: what ``RLIMIT_NPROC`` counts."""
    uid = os.getuid() if uid is None else uid
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = dict(line.split(":", 1) for line in (proc / "status").read_text().splitlines() if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                total += int(fields["Threads"].strip())
        except (OSError, KeyError, ValueError):
            continue
    return total


def docker_limit_args(limits: ResourceLimits, *, network: bool) -> list[str]:
    """``docker run`` arguments: cgroup limits, no capabilities, no privilege gain, no network."""
    args = ["--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
    for capability in limits.capabilities:
        args += ["--cap-add", capability.upper().removeprefix("CAP_")]
    if limits.processes:
        args += ["--pids-limit", str(limits.processes)]
    if limits.memory_bytes:
        args += ["--memory", f"{limits.memory_bytes}b", "--memory-swap", f"{limits.memory_bytes}b"]
    if limits.file_size_bytes:
        args += ["--ulimit", f"fsize={limits.file_size_bytes}:{limits.file_size_bytes}"]
    if not network:
        args += ["--network", "none"]
    return args
