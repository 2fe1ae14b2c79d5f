"""Durable sessions: metadata, full history and events, written as they happen.

Layout under ``<cache_dir>/sessions/<session id>/``:

- ``meta.json``: title, branch, worktree, start ref, status, usage... (replaced atomically);
- ``history.jsonl``: append-only records ``{"m": message}`` and ``{"truncate": n}`` (a retry
  rewinds the history), each written whole with one ``write``;
- ``events.jsonl``: append-only protocol events (for ``kwaak sessions show``).

A ``kill -9`` can at worst leave a torn last line, which loading ignores, so at most the step in
flight is lost and the store never corrupts. Writes are not fsynced: they survive any crash of
the process (the data is in the OS page cache), and fsyncing on the UI's event loop at every step
made the TUI stutter with many agents; only a power loss could lose the latest records.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kwaak import protocol as p
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


def _append(path: Path, record: dict[str, Any]) -> None:
    """Append one whole JSON line (a failed write is truncated away, never left torn)."""
    data = memoryview((json.dumps(record, ensure_ascii=False, default=str) + "\n").encode())
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        try:
            while data:
                data = data[os.write(fd, data) :]
        except OSError:
            # Never leave a torn line that later appends would follow (loading stops at it).
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)
            raise
    finally:
        os.close(fd)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    records: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break  # a torn last line from a crash: everything before it is intact
    return records


class SessionStore:
    """The on-disk record of one session."""

    def __init__(self, root: Path, session_id: str) -> None:
        self.dir = root / session_id
        self.session_id = session_id
        self._exists = False
        self._persisted: dict[str, list[Message]] = {}
        """Per history stream, the messages on disk (compared by identity to find rewinds)."""
        """The history messages on disk (compared by identity to find rewinds)."""

    @property
    def exists(self) -> bool:
        """Whether this session has been stored (checked on disk until it is, then remembered)."""
        if not self._exists:
            self._exists = (self.dir / "meta.json").exists()
        return self._exists

    def save_meta(self, meta: SessionMeta) -> None:
        """Replace ``meta.json`` atomically.

        Raises:
            SessionError: the store cannot be written (disk full, read-only, permissions).
        """
        meta.updated_at = time.time()
        with self._storage_errors():
            self.dir.mkdir(parents=True, exist_ok=True)
            _atomic_write(self.dir / "meta.json", json.dumps(asdict(meta), indent=2, default=str))

    @contextlib.contextmanager
    def _storage_errors(self) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            msg = f"could not save agent session {self.session_id!r} to {str(self.dir)!r}: {exc.strerror or exc}"
            hint = "free disk space (or fix permissions) under `cache_dir`, then /retry"
            raise SessionError(msg, hint=hint) from exc

    def load_meta(self) -> SessionMeta:
        """Read ``meta.json``."""
        data = json.loads((self.dir / "meta.json").read_text(encoding="utf-8"))
        known = SessionMeta.__dataclass_fields__
        return SessionMeta(**{k: v for k, v in data.items() if k in known})

    def sync_history(self, history: list[Message], *, stream: str = "history") -> None:
        """Append what is new in ``history`` (or record a rewind first) to ``<stream>.jsonl``.

        ``stream`` is ``history`` for the coding agent, ``planner`` for a PlanAct planner.

        After a failed write, what did reach the disk is remembered, so the next sync resumes
        there without duplicating records.

        Raises:
            SessionError: the store cannot be written (disk full, read-only, permissions).
        """
        path = self.dir / f"{stream}.jsonl"
        persisted = self._persisted.setdefault(stream, [])
        common = 0
        for on_disk, current in zip(persisted, history, strict=False):
            if on_disk is not current:
                break
            common += 1
        with self._storage_errors():
            self.dir.mkdir(parents=True, exist_ok=True)
            if common < len(persisted):
                _append(path, {"truncate": common})
                del persisted[common:]
            for message in history[common:]:
                _append(path, {"m": message_to_dict(message)})
                persisted.append(message)

    def load_history(self, *, stream: str = "history") -> list[Message]:
        """Replay ``<stream>.jsonl`` (empty when it does not exist)."""
        history: list[Message] = []
        for record in _read_jsonl(self.dir / f"{stream}.jsonl"):
            if "truncate" in record:
                del history[int(record["truncate"]) :]
            elif "m" in record:
                history.append(message_from_dict(record["m"]))
        self._persisted[stream] = list(history)
        return history

    def append_event(self, event: p.Event) -> None:
        """Record one event (deltas are skipped: the full message follows)."""
        if isinstance(event.msg, p.AssistantDelta):
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        _append(self.dir / "events.jsonl", event.to_json())

    def load_events(self) -> list[dict[str, Any]]:
        """Read the recorded events."""
        return _read_jsonl(self.dir / "events.jsonl")

    def delete(self) -> None:
        """Remove everything stored for this session."""
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(self.dir)


def sessions_root(cache_dir: Path) -> Path:
    """Where sessions are stored for a project."""
    return cache_dir / "sessions"


def list_stores(cache_dir: Path) -> list[SessionStore]:
    """Every stored session, oldest first."""
    root = sessions_root(cache_dir)
    if not root.is_dir():
        return []
    stores = [SessionStore(root, d.name) for d in root.iterdir() if (d / "meta.json").is_file()]
    return sorted(stores, key=lambda s: s.load_meta().created_at)


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
        goal=session.state.goal,
        completions_since_summary=session.state.completions_since_summary,
        usage=asdict(session.meter.usage),
        steps=session.meter.steps,
        active_seconds=round(session.meter.wall_seconds, 3),
        active_agent=session.active_agent,
        turn_heads=list(session.turn_heads),
        landed=session.landed,
    )
    if session.created_at is None:
        session.created_at = meta.created_at
    meta.created_at = session.created_at
    return meta
