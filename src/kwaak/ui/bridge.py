"""The link between the Textual app and the backend: ops go down, batched events come up.

The backend calls :meth:`Bridge.receive` synchronously for every event (a listener on the same
event loop). Events are collected and posted to the app as one :class:`EventBatch` message at most
once per frame, so ten agents streaming tokens cost the UI a few dozen updates a second, not
thousands. Operations submitted before the backend is connected (it is built after the first
frame, off the UI's critical path) are queued and sent in order once it is.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from textual.message import Message

from kwaak import protocol as p

FRAME_SECONDS = 1 / 30


class BackendLike(Protocol):
    """What the UI needs from :class:`kwaak.backend.Backend`."""

    buffer_events: bool

    def submit(self, session_id: p.SessionId, op: p.Op) -> p.SubmissionId:
        """Start handling ``op``; it ends with one ``CommandCompleted``."""
        ...

    def add_listener(self, listener: Callable[[p.Event], None]) -> None:
        """Call ``listener`` for every event."""
        ...

    async def aclose(self) -> None:
        """Cancel everything and release resources."""
        ...


@dataclass(frozen=True, slots=True)
class RestoredChat:
    """A saved session to show again: its identity and its recorded events."""

    session_id: p.SessionId
    title: str | None
    status: p.SessionStatus
    branch: str | None
    events: Sequence[p.Event] = ()


@dataclass(frozen=True, slots=True)
class Connection:
    """What ``connect`` returns when it also restored saved sessions."""

    backend: BackendLike
    restored: Sequence[RestoredChat] = ()
    team: p.UsageInfo | None = None
    """The team's usage so far (every stored session of the repository), for the status bar."""


Connect = Callable[[], "BackendLike | Connection | Awaitable[BackendLike | Connection]"]
"""Builds the backend: a coroutine function (awaited on the UI loop) or a plain function (run in a
thread, since building the engine imports SDKs and touches the disk)."""


async def open_connection(connect: Connect) -> Connection:
    """Call ``connect`` the right way for its kind and normalize the result."""
    if inspect.iscoroutinefunction(connect):
        result = await connect()
    else:
        result = await asyncio.to_thread(connect)
    if inspect.isawaitable(result):
        result = await result
    return result if isinstance(result, Connection) else Connection(result)


def coalesce_deltas(events: list[p.Event]) -> list[p.Event]:
    """Merge streamed fragments of one message into one event (one widget update per frame).

    A delta joins the previous event of its session when that is a delta of the same message, so
    the order of each session's events is kept while sessions' events interleave freely.
    """
    merged: list[p.Event] = []
    pieces: dict[int, list[str]] = {}
    last_of_session: dict[p.SessionId, int] = {}
    for event in events:
        msg = event.msg
        index = last_of_session.get(event.session_id)
        if isinstance(msg, p.AssistantDelta) and index in pieces:
            previous = merged[index].msg
            if isinstance(previous, p.AssistantDelta) and previous.message_id == msg.message_id:
                pieces[index].append(msg.text)
                continue
        index = len(merged)
        last_of_session[event.session_id] = index
        merged.append(event)
        if isinstance(msg, p.AssistantDelta):
            pieces[index] = [msg.text]
    for index, texts in pieces.items():
        if len(texts) > 1:
            event = merged[index]
            assert isinstance(event.msg, p.AssistantDelta)
            merged[index] = replace(event, msg=replace(event.msg, text="".join(texts)))
    return merged


class EventBatch(Message):
    """Events that arrived since the last batch, oldest first."""

    def __init__(self, events: list[p.Event]) -> None:
        super().__init__()
        self.events = events


class Bridge:
    """Forwards ops to the backend and batches its events for ``post``."""

    def __init__(self, post: Callable[[Message], object], *, frame: float = FRAME_SECONDS) -> None:
        self._post = post
        self._frame = frame
        self.backend: BackendLike | None = None
        self._queued: list[tuple[p.SessionId, p.Op]] = []
        self._events: list[p.Event] = []
        self._flush_handle: asyncio.TimerHandle | None = None
        self._last_flush = 0.0
        self.closed = False

    @property
    def connected(self) -> bool:
        """Whether the backend is attached."""
        return self.backend is not None

    def attach(self, backend: BackendLike) -> None:
        """Start receiving ``backend``'s events and send the queued ops."""
        # The UI consumes events through the listener; don't also keep them in the backend's queue.
        backend.buffer_events = False
        backend.add_listener(self.receive)
        self.backend = backend
        queued, self._queued = self._queued, []
        for session_id, op in queued:
            backend.submit(session_id, op)

    def submit(self, session_id: p.SessionId, op: p.Op) -> None:
        """Send ``op`` for ``session_id`` now, or as soon as the backend is attached."""
        if self.backend is None:
            self._queued.append((session_id, op))
        else:
            self.backend.submit(session_id, op)

    def receive(self, event: p.Event) -> None:
        """Collect an event; a flush is scheduled at most one frame after the previous one."""
        self._events.append(event)
        if self._flush_handle is None:
            delay = max(0.0, self._last_flush + self._frame - time.monotonic())
            self._flush_handle = asyncio.get_running_loop().call_later(delay, self.flush)

    def flush(self) -> None:
        """Post the collected events as one batch."""
        self._flush_handle = None
        self._last_flush = time.monotonic()
        if self._events:
            events, self._events = self._events, []
            self._post(EventBatch(coalesce_deltas(events)))

    async def aclose(self) -> None:
        """Stop the backend (cancels agents, closes executors, removes worktrees); idempotent."""
        if self.closed:
            return
        self.closed = True
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if self.backend is not None:
            await self.backend.aclose()
