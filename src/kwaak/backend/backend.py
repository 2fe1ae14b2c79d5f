"""The backend facade: front ends ``submit`` operations and read ``events``.

Each submitted operation runs as its own task (so chats run in parallel) and always ends with
exactly one :class:`kwaak.protocol.CommandCompleted`. Events emitted while handling an operation
carry its submission id (a context variable follows the task and the tasks it starts).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kwaak import protocol as p
from kwaak import telemetry
from kwaak.backend.actions import dispatch
from kwaak.backend.persistence import SessionStore
from kwaak.backend.restore import open_stored, replay_events
from kwaak.backend.runtime import Models, Runtime
from kwaak.backend.session import Session
from kwaak.backend.store_index import SessionEntry, all_session_ids, list_sessions, sessions_dir
from kwaak.config import Config
from kwaak.errors import KwaakError, SessionNotFound
from kwaak.llm.retry import RetryNotice, retry_notices
from kwaak.logs import bind_session, log_file_hint

if TYPE_CHECKING:
    from kwaak.index import CodeIndex

log = logging.getLogger(__name__)
_submission: contextvars.ContextVar[str | None] = contextvars.ContextVar("kwaak_submission", default=None)
EventListenerFn = Callable[[p.Event], None]


CONTAINER_CLEANUP_WAIT_SEC = 30.0
"""How long closing waits for the start-up's removal of dead runs' containers."""


class Backend:
    """Owns sessions and runs operations for front ends."""

    def __init__(
        self,
        config: Config,
        repo_root: Path,
        *,
        models: Models | None = None,
        index: CodeIndex | None = None,
        buffer_events: bool = True,
        persist: bool = True,
        interactive: bool = False,
        origin: str | None = None,
    ) -> None:
        self.runtime = Runtime(
            config=config,
            repo_root=repo_root.resolve(),
            models=models or Models.from_config(config),
            emit=self._emit,
            index=index,
            interactive=interactive,
        )
        self._owns_index = index is None
        """A given index belongs to the caller, who closes it; one the backend opened, it closes."""
        self._sessions: dict[p.SessionId, Session] = {}
        self.persist = persist
        """Store sessions under the cache dir so that they survive restarts."""
        self.origin = origin or ("tui" if interactive else "headless")
        """Recorded with each new session (``tui``, ``run-agent``, ``batch``); TUI sessions reopen as tabs."""
        self._store_root: Path | None = None
        self.buffer_events = buffer_events
        """Queue events for :meth:`events`; front ends that only use listeners turn this off."""
        self._queue: asyncio.Queue[p.Event] = asyncio.Queue()
        self._listeners: list[EventListenerFn] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = asyncio.Event()
        self._shutdown: asyncio.Task[None] | None = None
        self._container_cleanup: asyncio.Task[list[str]] | None = None

    @property
    def config(self) -> Config:
        """The configuration."""
        return self.runtime.config

    # -- events -----------------------------------------------------------------------------

    def add_listener(self, listener: EventListenerFn) -> None:
        """Call ``listener`` synchronously for every event (persistence, logging, tests)."""
        self._listeners.append(listener)

    def _emit(self, session_id: p.SessionId, msg: p.EventMsg) -> None:
        event = p.Event(session_id=session_id, msg=msg, submission_id=_submission.get())
        session = self._sessions.get(session_id)
        # Fragments are recorded as the full message; listings and opened sessions are not history.
        recorded = not isinstance(msg, p.AssistantDelta | p.SessionsListed | p.SessionOpened)
        if recorded and session is not None and session.store is not None and session.store.exists:
            try:
                session.store.append_event(event)
            except (OSError, KwaakError):
                log.exception("could not record an event for session %s", session_id)
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                log.exception("event listener failed")
        if self.buffer_events:
            self._queue.put_nowait(event)

    async def events(self) -> AsyncIterator[p.Event]:
        """Yield events until the backend is closed and the queue is drained."""
        while not (self._closed.is_set() and self._queue.empty()):
            getter = asyncio.ensure_future(self._queue.get())
            closed = asyncio.ensure_future(self._closed.wait())
            done, _ = await asyncio.wait({getter, closed}, return_when=asyncio.FIRST_COMPLETED)
            closed.cancel()
            if getter in done:
                yield getter.result()
            else:
                getter.cancel()

    # -- sessions ---------------------------------------------------------------------------

    @property
    def store_root(self) -> Path:
        """Where this repository's sessions are stored."""
        if self._store_root is None:
            self._store_root = sessions_dir(self.config.cache_dir, self.runtime.repo_root)
        return self._store_root

    def session(self, session_id: p.SessionId) -> Session:
        """The session with this id, created (not started) if new (backend-internal: front ends use ops)."""
        existing = self._sessions.get(session_id)
        if existing is None and self.persist and (self.store_root / session_id).is_dir():
            return self.open_session(session_id)  # a stored session continues, never starts over on its files
        if existing is None:
            existing = Session(id=session_id, runtime=self.runtime, origin=self.origin, tab=self.origin == "tui")
            if self.persist:
                existing.store = SessionStore(self.store_root, session_id)
            self._sessions[session_id] = existing
        return existing

    def summary(self, session_id: p.SessionId) -> p.SessionSummary | None:
        """Where the agent ``session_id`` stands (``None``: no such agent)."""
        session = self._sessions.get(session_id)
        return session.summary() if session is not None else None

    def session_ids(self) -> list[p.SessionId]:
        """The ids of the agents this backend knows (oldest first)."""
        return list(self._sessions)

    async def start(self, *, restore: bool = True) -> list[p.RestoredSession]:
        """Reopen the sessions that were open as TUI tabs (if ``restore``) and remove what crashed runs left.

        Orphaned containers (their kwaak process is gone) and worktrees that belong to no saved
        session are removed; worktrees of saved sessions are kept for resuming, and resources of
        other live kwaak processes are never touched.
        """
        restored = [
            p.RestoredSession(
                session_id=s.id,
                summary=s.summary(),
                events=tuple(replay_events(s.store)) if s.store is not None else (),
            )
            for s in (self.restore_sessions() if restore and self.persist else [])
        ]
        stored = all_session_ids(self.config.cache_dir) | set(self._sessions)
        from kwaak.executors.cleanup import cleanup_containers, cleanup_leftovers

        project = self.config.project_name
        await cleanup_leftovers(project, self.runtime.repo_root, self.config.cache_dir, stored, containers=False)
        # Dead runs' containers go in the background: `docker ps` (tens of ms, seconds on a busy
        # daemon) never delays the first turn; a container of this process is never theirs.
        self._container_cleanup = asyncio.create_task(cleanup_containers(project), name="cleanup-containers")
        return restored

    def stored_sessions(self) -> list[SessionEntry]:
        """This repository's stored sessions (damaged ones and those of other processes included)."""
        return list_sessions(self.config.cache_dir, self.runtime.repo_root) if self.persist else []

    def restore_sessions(self) -> list[Session]:
        """Reopen, oldest first, the sessions that were chat tabs and that no other live process owns.

        Headless runs stay in the store (listed by ``/sessions``); a session that was mid-turn
        comes back ``interrupted``. The team's usage totals are those of every stored session.
        """
        restored: list[Session] = []
        entries = self.stored_sessions()
        for entry in entries:
            if entry.meta is not None and entry.id not in self._sessions:
                self.runtime.team.add(entry.meta.usage_value())
                self.runtime.team.steps += entry.meta.steps
        for entry in entries:
            if entry.meta is None or not entry.meta.tab or entry.owner is not None or entry.id in self._sessions:
                continue
            try:
                session = self.open_session(entry.id)
            except KwaakError as exc:
                log.warning("not reopening session %s: %s", entry.id, exc.message)
                continue
            restored.append(session)
        return restored

    def open_session(self, session_id: p.SessionId) -> Session:
        """Take ownership of a stored session and load it (a session already open here is returned).

        Raises:
            SessionNotFound: nothing is stored under this id.
            SessionInUse: another live kwaak process owns it.
            SessionError: it is damaged beyond repair.
        """
        existing = self._sessions.get(session_id)
        if existing is not None:
            return existing
        session = open_stored(SessionStore(self.store_root, session_id), self.runtime)
        self._sessions[session.id] = session
        for problem in session.store.problems if session.store else ():
            session.emit(p.SystemMessage(text=f"Repaired the session store: {problem}", level="warning"))
        return session

    def require(self, session_id: p.SessionId) -> Session:
        """The started session with this id.

        Raises:
            SessionNotFound: no agent exists for the id yet.
        """
        session = self._sessions.get(session_id)
        if session is None or not session.started:
            msg = "No agent found (yet), is it starting up?"
            raise SessionNotFound(msg, hint="send the agent a message first")
        return session

    async def require_ready(self, session_id: p.SessionId) -> Session:
        """Like :meth:`require`, but a restored session is resumed (worktree, executor, tools) first."""
        session = self._sessions.get(session_id)
        if session is not None and not session.started and session.workspace is not None:
            await session.ensure_started(session.state.goal or "")
        return self.require(session_id)

    # -- operations -------------------------------------------------------------------------

    def submit(self, session_id: p.SessionId, op: p.Op) -> p.SubmissionId:
        """Start handling ``op`` for ``session_id`` and return its submission id."""
        submission_id = uuid.uuid4().hex[:12]
        ctx = contextvars.copy_context()
        ctx.run(_submission.set, submission_id)
        ctx.run(bind_session, session_id)  # log records of this op (and its turn) carry the session id
        ctx.run(retry_notices.set, functools.partial(self._retrying, session_id))  # retries show in the chat
        task = asyncio.create_task(self._handle(session_id, op), name=f"{op.kind}-{session_id[:8]}", context=ctx)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return submission_id

    def _retrying(self, session_id: p.SessionId, notice: RetryNotice) -> None:
        self._emit(
            session_id,
            p.ProviderRetry(
                endpoint=notice.endpoint,
                reason=notice.reason,
                wait_seconds=round(notice.wait, 1),
                attempt=notice.attempt,
                max_attempts=notice.max_attempts,
            ),
        )

    async def run_op(
        self, session_id: p.SessionId, op: p.Op, *, collect: list[p.Event] | None = None
    ) -> p.CommandCompleted:
        """Submit ``op`` and wait for its completion event (headless front ends, tests).

        ``collect`` receives every event of this submission (its completion included).
        """
        done: asyncio.Future[p.CommandCompleted] = asyncio.get_running_loop().create_future()
        submission: list[str] = []

        def watch(event: p.Event) -> None:
            mine = submission and event.submission_id == submission[0]
            if mine and collect is not None:
                collect.append(event)
            if mine and isinstance(event.msg, p.CommandCompleted) and not done.done():
                done.set_result(event.msg)

        self.add_listener(watch)
        try:
            submission.append(self.submit(session_id, op))
            return await done
        finally:
            self._listeners.remove(watch)

    async def _handle(self, session_id: p.SessionId, op: p.Op) -> None:
        started = time.monotonic()
        label = p.op_label(op)
        if label is not None and session_id != p.SYSTEM_SESSION:
            self._emit(session_id, p.CommandStarted(command=op.kind, label=label))
        try:
            with telemetry.span(f"command.{op.kind}", session_id=session_id, command=op.kind):
                await dispatch(self, session_id, op)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                self._completed(session_id, op, started, error=("cancelled", "Cancelled: kwaak is shutting down", None))
                raise
            self._completed(session_id, op, started, error=("stopped", "Agent stopped", None))
        except KwaakError as exc:
            self._completed(session_id, op, started, error=(exc.kind, exc.message, exc.hint))
        except Exception as exc:
            log.exception("internal error while handling %s", op.kind)
            message = f"internal error: {type(exc).__name__}: {exc}"
            self._completed(session_id, op, started, error=("internal", message, log_file_hint()))
        else:
            self._completed(session_id, op, started)

    def _completed(
        self, session_id: p.SessionId, op: p.Op, started: float, *, error: tuple[str, str, str | None] | None = None
    ) -> None:
        seconds = round(time.monotonic() - started, 2)
        log.info("command %s %s after %ss", op.kind, "failed: " + error[1] if error else "succeeded", seconds)
        if error is None:
            self._emit(session_id, p.CommandCompleted(command=op.kind, ok=True, seconds=seconds))
            return
        kind, message, hint = error
        self._emit(
            session_id,
            p.CommandCompleted(command=op.kind, ok=False, seconds=seconds, error=message, error_kind=kind, hint=hint),
        )

    # -- shutdown ---------------------------------------------------------------------------

    def request_shutdown(self) -> asyncio.Task[None]:
        """Start closing the backend in its own task (the ``Quit`` op); idempotent."""
        if self._shutdown is None:
            self._shutdown = asyncio.get_running_loop().create_task(self.aclose(), name="kwaak-shutdown")
        return self._shutdown

    async def aclose(self) -> None:
        """Cancel every operation, close every session, and end the event stream."""
        current = asyncio.current_task()
        tasks = [t for t in self._tasks if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._container_cleanup is not None:  # let it finish: cancelled at every exit, it would never end
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._container_cleanup, CONTAINER_CLEANUP_WAIT_SEC)
        await asyncio.gather(
            *(s.aclose(delete_workspace=True) for s in self._sessions.values()), return_exceptions=True
        )
        for session in self._sessions.values():
            if session.store is not None:
                session.store.release()  # only after its worktree is gone: then another process may open it
        if self.runtime.index is not None and self._owns_index:
            await self.runtime.index.close()
        await self.runtime.models.aclose()
        for extra in self.runtime.extra_models.values():
            await extra.aclose()
        self._closed.set()

    async def __aenter__(self) -> Backend:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
