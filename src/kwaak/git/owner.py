"""Who owns a container or worktree: ``<host>:<pid>:<start time>`` of the kwaak process.

Leftovers (containers, worktrees) are labelled with their owner so that cleanup after a crash can
tell an orphan (owner process gone) from a resource of another kwaak that is still running. The
process start time guards against pid reuse.
"""

from __future__ import annotations

import functools
import os
import socket
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True, kw_only=True)
class Owner:
    """A process identity that survives pid reuse."""

    host: str
    pid: int
    start: str
    """Start time in clock ticks since boot (``/proc/<pid>/stat`` field 22); empty when unknown."""

    def token(self) -> str:
        """``host:pid:start``, the form stored in labels and lock reasons."""
        return f"{self.host}:{self.pid}:{self.start}"

    @classmethod
    def parse(cls, token: str) -> Owner | None:
        """Parse :meth:`token` output; ``None`` when malformed."""
        host, _, rest = token.strip().rpartition(":")
        host, _, pid = host.rpartition(":")
        if not host or not pid.isdigit():
            return None
        return cls(host=host, pid=int(pid), start=rest)

    def alive(self) -> bool:
        """Whether the owner still runs. Owners on other hosts are assumed alive."""
        if self.host != socket.gethostname():
            return True
        if self.pid == os.getpid():
            return True
        start = _start_time(self.pid)
        if start is None:
            return False
        return not self.start or start == self.start


def current_owner() -> Owner:
    """The owner identity of this process (computed once per process; it tags every command)."""
    return _owner(os.getpid())


@functools.cache
def _owner(pid: int) -> Owner:
    return Owner(host=socket.gethostname(), pid=pid, start=_start_time(pid) or "")


def owner_alive(token: str | None) -> bool:
    """Whether the process named by an owner token still runs (``False`` for missing/garbage)."""
    if not token:
        return False
    owner = Owner.parse(token)
    return owner is not None and owner.alive()


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return ""
        return ""
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else ""
