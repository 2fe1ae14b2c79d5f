"""One owner process per session: an OS lock on ``<session dir>/lock``.

The owner holds ``fcntl.flock(LOCK_EX)`` on the lock file for as long as it has the session open
and writes its pid into the file. The kernel drops the lock when the process exits however it
exits (``kill -9`` included), so "is the owner still alive?" is answered by the lock, never by a
status field. Other processes only *probe* the lock (a non-blocking shared lock, released at once)
and show the session read-only as "in use by pid N".

A probe holds the file for microseconds, which can make a concurrent claim fail; a claim therefore
retries briefly unless the pid in the file belongs to a live process.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from dataclasses import dataclass
from pathlib import Path

from kwaak.errors import SessionInUse

LOCK_FILE = "lock"
_CLAIM_RETRY_SECONDS = 0.5


def _read_pid(fd: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
        return int(text) if text else None
    return None


def _pid_alive(pid: int | None) -> bool:
    if pid is None or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_pid(session_dir: Path) -> int | None:
    """The pid of the live process that owns the session, ``None`` when nobody does.

    A lock held by a process whose pid could not be read is reported as ``-1``. Nothing is
    created: a session without a lock file has no owner.
    """
    try:
        fd = os.open(session_dir / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_pid(fd) or -1
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


@dataclass(eq=False)
class SessionLock:
    """The held lock of one session (release it, or let the process exit)."""

    session_dir: Path
    fd: int

    @classmethod
    def claim(cls, session_dir: Path, *, session_id: str) -> SessionLock:
        """Take the session's lock (creating its directory), or fail at once when another owns it.

        Raises:
            SessionInUse: a live process holds the lock.
            OSError: the directory or lock file cannot be created.
        """
        session_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(session_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + _CLAIM_RETRY_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                pid = _read_pid(fd)
                if _pid_alive(pid) or time.monotonic() > deadline:
                    os.close(fd)
                    raise in_use_error(session_id, pid) from None
                time.sleep(0.01)  # a probe holds it for an instant
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(session_dir=session_dir, fd=fd)

    def release(self) -> None:
        """Give the session up (idempotent)."""
        if self.fd < 0:
            return
        with contextlib.suppress(OSError):
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        self.fd = -1


def in_use_error(session_id: str, pid: int | None) -> SessionInUse:
    """The error for a session another process owns."""
    who = f"pid {pid}" if pid and pid > 0 else "another process"
    msg = f"session {session_id[:8]} is in use by {who}"
    hint = "switch to that kwaak, or quit it first (sessions open read-only elsewhere)"
    return SessionInUse(msg, pid=pid if pid and pid > 0 else None, hint=hint)
