"""Durable sessions: metadata, full history and events, written as they happen by their one owner.

Layout under ``<cache_dir>/sessions/<repository key>/<session id>/`` (see
:mod:`kwaak.backend.store_index` for the key):

- ``lock``: held with ``flock`` by the one process that owns the session (see
  :mod:`kwaak.backend.store_lock`); every write claims it first, so two processes never
  interleave records; other processes read the session only;
- ``meta.json``: title, branch, worktree, start ref, status, origin, usage... (replaced atomically);
- ``history.jsonl``: append-only records ``{"m": message}`` and ``{"truncate": n}`` (a retry
  rewinds the history), each written whole with one ``write``;
- ``events.jsonl``: append-only protocol events (for ``kwaak sessions show`` and restoring a chat).

A ``kill -9`` can at worst leave a torn last line. Before the owner appends again, loading
truncates it (and reports the file), so no later record is lost (:mod:`kwaak.backend.jsonl`).
Writes are not fsynced: they survive any crash of the process (the data is in the OS page cache),
and fsyncing on the UI's event loop at every step made the TUI stutter with many agents; only a
power loss could lose the latest records.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kwaak import protocol as p
from kwaak.backend import jsonl
from kwaak.backend.store_lock import SessionLock, owner_pid
from kwaak.errors import SessionError
from kwaak.messages import (
    AssistantMessage,
    Message,
    SummaryMessage,
    SystemMessage,
    ToolCall,
    ToolResult,
    Usage,
    UserMessage,
)

if TYPE_CHECKING:
    from kwaak.backend.session import Session

log = logging.getLogger(__name__)
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
"""Session ids name directories: no separators, no ``..``."""

_KINDS: dict[str, type[Any]] = {
    "system": SystemMessage,
    "user": UserMessage,
    "assistant": AssistantMessage,
    "tool": ToolResult,
    "summary": SummaryMessage,
}


def message_to_dict(message: Message) -> dict[str, Any]:
    """A JSON-ready dict of a history message."""
    return asdict(message)


def message_from_dict(data: dict[str, Any]) -> Message:
    """Rebuild a history message from :func:`message_to_dict` output."""
    cls = _KINDS[data["kind"]]
    values = {k: v for k, v in data.items() if k != "kind"}
    if cls is AssistantMessage:
        values["tool_calls"] = tuple(ToolCall(**c) for c in values.get("tool_calls", ()))
        values["reasoning"] = tuple(tuple(block) for block in values.get("reasoning", ()))
    message: Message = cls(**values)
    return message


@dataclass
class SessionMeta:
    """Everything about a session except its history."""

    id: str
    title: str | None = None
    branch: str | None = None
    worktree: str | None = None
    start_ref: str | None = None
    executor: str | None = None
    status: str = "idle"
    origin: str = ""
    """Which front end created it: ``tui``, ``run-agent``, ``batch`` (empty: unknown, an older store)."""
    tab: bool = False
    """Open as a chat tab in the TUI: a TUI chat, or a session opened from the ``/sessions`` picker."""
    goal: str | None = None
    completions_since_summary: int = 0
    usage: dict[str, Any] = field(default_factory=dict)
    steps: int = 0
    active_seconds: float = 0.0
    active_agent: str = "coding"
    """PlanAct: ``planner`` until the planner delegates, then ``coding``."""
    turn_heads: list[str] = field(default_factory=list)
    """The agent branch's commit before each turn (undo)."""
    landed: str | None = None
    """``<base>@<commit>`` once the branch was landed."""
    branch_dropped: bool = False
    """The agent's branch had no commits and was removed when the session ended (re-created on resume)."""
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)

    def usage_value(self) -> Usage:
        """The stored usage as a :class:`Usage`."""
        return Usage(**self.usage) if self.usage else Usage()


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    tmp.replace(path)


class MetaDamaged(SessionError):
    """``meta.json`` is missing, empty or not a session record."""

    kind = "session_damaged"

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"{path} is damaged ({reason})",
            hint="delete the session with `kwaak sessions delete ID`, or restore the file from a backup",
        )
        self.path = path


class SessionStore:
    """The on-disk record of one session; only the process holding its lock writes it."""

    def __init__(self, root: Path, session_id: str) -> None:
        if not _SAFE_ID.fullmatch(session_id) or set(session_id) == {"."}:
            msg = f"{session_id!r} is not a session id"
            raise SessionError(msg, hint="list the sessions with `kwaak sessions`")
        self.dir = root / session_id
        self.session_id = session_id
        self._exists = False
        self._persisted: dict[str, list[Message]] = {}
        """Per history stream, the messages on disk (compared by identity to find rewinds)."""
        self._saved_meta: dict[str, Any] | None = None
        self.lock: SessionLock | None = None
        self.problems: list[str] = []
        """Repairs and damage found while loading (each names the file), for the user to see."""

    @property
    def exists(self) -> bool:
        """Whether this session has been stored (checked on disk until it is, then remembered)."""
        if not self._exists:
            self._exists = (self.dir / "meta.json").exists()
        return self._exists

    @property
    def owned(self) -> bool:
        """Whether this process holds the session's lock."""
        return self.lock is not None and self.lock.fd >= 0

    def claim(self) -> None:
        """Become the session's only writer (idempotent).

        Raises:
            SessionInUse: another live process owns it.
        """
        if not self.owned:
            with self._storage_errors():
                self.lock = SessionLock.claim(self.dir, session_id=self.session_id)

    def release(self) -> None:
        """Let other processes open the session."""
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def owner_pid(self) -> int | None:
        """The live process owning the session (this one included), ``None`` when nobody does."""
        return os.getpid() if self.owned else owner_pid(self.dir)

    def save_meta(self, meta: SessionMeta) -> None:
        """Replace ``meta.json`` atomically (``updated_at`` moves only when something changed).

        Raises:
            SessionError: the store cannot be written (disk full, read-only, permissions).
            SessionInUse: another process owns the session.
        """
        record = asdict(meta)
        unchanged = {**record, "updated_at": None} == {**(self._saved_meta or {}), "updated_at": None}
        if unchanged:
            return
        meta.updated_at = record["updated_at"] = time.time()
        self.claim()
        with self._storage_errors():
            _atomic_write(self.dir / "meta.json", json.dumps(record, indent=2, default=str))
        self._saved_meta = record
        self._exists = True

    @contextlib.contextmanager
    def _storage_errors(self) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            msg = f"could not save agent session {self.session_id!r} to {str(self.dir)!r}: {exc.strerror or exc}"
            hint = "free disk space (or fix permissions) under `cache_dir`, then /retry"
            raise SessionError(msg, hint=hint) from exc

    def load_meta(self) -> SessionMeta:
        """Read ``meta.json``.

        Raises:
            MetaDamaged: the file is missing, empty, not JSON or not a session record.
        """
        path = self.dir / "meta.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise MetaDamaged(path, "missing") from exc
        except (OSError, ValueError) as exc:
            raise MetaDamaged(path, "empty" if not path.stat().st_size else "not JSON") from exc
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            raise MetaDamaged(path, "not a session record")
        known = SessionMeta.__dataclass_fields__
        try:
            meta = SessionMeta(**{k: v for k, v in data.items() if k in known})
        except TypeError as exc:
            raise MetaDamaged(path, "not a session record") from exc
        self._saved_meta = asdict(meta)
        return meta

    def _check(self, name: str) -> list[dict[str, Any]]:
        """The records of a log; an owner repairs a damaged file, others only read around it."""
        path = self.dir / name
        with self._storage_errors():
            records, report = jsonl.check(path, repair=self.owned)
        if report is not None:
            log.warning("%s", report)
            if report not in self.problems:
                self.problems.append(report)
        return records

    def sync_history(self, history: list[Message], *, stream: str = "history") -> None:
        """Append what is new in ``history`` (or record a rewind first) to ``<stream>.jsonl``.

        ``stream`` is ``history`` for the coding agent, ``planner`` for a PlanAct planner.

        After a failed write, what did reach the disk is remembered, so the next sync resumes
        there without duplicating records.

        Raises:
            SessionError: the store cannot be written (disk full, read-only, permissions).
            SessionInUse: another process owns the session.
        """
        path = self.dir / f"{stream}.jsonl"
        persisted = self._persisted.setdefault(stream, [])
        common = 0
        for on_disk, current in zip(persisted, history, strict=False):
            if on_disk is not current:
                break
            common += 1
        if common == len(persisted) == len(history):
            return
        self.claim()
        with self._storage_errors():
            if common < len(persisted):
                jsonl.append(path, {"truncate": common})
                del persisted[common:]
            for message in history[common:]:
                jsonl.append(path, {"m": message_to_dict(message)})
                persisted.append(message)

    def load_history(self, *, stream: str = "history") -> list[Message]:
        """Replay ``<stream>.jsonl`` (empty when it does not exist); records that fail to load are reported."""
        history: list[Message] = []
        bad = 0
        for record in self._check(f"{stream}.jsonl"):
            try:
                if "truncate" in record:
                    del history[int(record["truncate"]) :]
                elif "m" in record:
                    history.append(message_from_dict(record["m"]))
            except (KeyError, TypeError, ValueError):
                bad += 1
        if bad:
            self.problems.append(f"{self.dir / f'{stream}.jsonl'}: {bad} record(s) of an unknown form skipped")
        self._persisted[stream] = list(history)
        return history

    def append_event(self, event: p.Event) -> None:
        """Record one event (deltas are skipped: the full message follows)."""
        if isinstance(event.msg, p.AssistantDelta):
            return
        self.claim()
        with self._storage_errors():
            jsonl.append(self.dir / "events.jsonl", event.to_json())

    def heal_tails(self) -> None:
        """Repair logs whose last line is torn, so the next append starts a line of its own (owner only)."""
        for name in ("history.jsonl", "planner.jsonl", "events.jsonl"):
            try:
                with open(self.dir / name, "rb") as fh:
                    if fh.seek(0, os.SEEK_END) == 0:
                        continue
                    fh.seek(-1, os.SEEK_END)
                    torn = fh.read(1) != b"\n"
            except OSError:
                continue
            if torn:
                self._check(name)

    def load_events(self) -> list[dict[str, Any]]:
        """Read the recorded events."""
        return self._check("events.jsonl")

    def delete(self) -> None:
        """Remove everything stored for this session, then give up its lock.

        Raises:
            SessionInUse: another process owns the session.
        """
        self.claim()
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(self.dir)
        self.release()


def session_meta(session: Session) -> SessionMeta:
    """The metadata record of a live session (its creation time is kept across saves)."""
    ws, executor = session.workspace, session.executor
    meta = SessionMeta(
        id=session.id,
        title=session.title,
        branch=ws.branch if ws else None,
        worktree=str(ws.path) if ws else None,
        start_ref=ws.start_ref if ws else None,
        executor=executor.kind if executor is not None else None,
        status=session.status,
        origin=session.origin,
        tab=session.tab,
        goal=session.state.goal,
        completions_since_summary=session.state.completions_since_summary,
        usage=asdict(session.meter.usage),
        steps=session.meter.steps,
        active_seconds=round(session.meter.wall_seconds, 3),
        active_agent=session.active_agent,
        turn_heads=list(session.turn_heads),
        landed=session.landed,
        branch_dropped=session.branch_dropped,
    )
    if session.created_at is None:
        session.created_at = meta.created_at
    meta.created_at = session.created_at
    return meta
