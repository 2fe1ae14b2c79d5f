"""Rebuild a :class:`Session` from its store (after a quit, a crash or a ``kill -9``).

:func:`open_stored` first takes the session's lock, so a session is only ever loaded (and then
written) by one process; a damaged ``meta.json`` is rebuilt from the logs, and damaged logs are
repaired before anything is appended (each repair is reported in ``store.problems``).
"""

from __future__ import annotations

from pathlib import Path
from typing import cast, get_args

from kwaak import protocol as p
from kwaak.agent.budget import Meter
from kwaak.agent.loop import AgentState
from kwaak.backend.persistence import MetaDamaged, SessionStore
from kwaak.backend.runtime import Runtime
from kwaak.backend.session import Session
from kwaak.backend.store_index import LIVE_STATUSES, rebuild_meta
from kwaak.errors import SessionNotFound
from kwaak.git.workspace import AgentWorkspace


def open_stored(store: SessionStore, runtime: Runtime) -> Session:
    """Claim the stored session and load it; the lock is released again when loading fails.

    Raises:
        SessionNotFound: nothing is stored under this id.
        SessionInUse: another live kwaak process owns it.
        SessionError: it is damaged beyond repair.
    """
    if not store.dir.is_dir():
        msg = f"no saved session {store.session_id[:8]}"
        raise SessionNotFound(msg, hint="list them with `kwaak sessions`")
    store.claim()
    try:
        try:
            store.load_meta()
        except MetaDamaged:
            rebuild_meta(store)
        store.heal_tails()
        return load_session(store, runtime)
    except BaseException:
        store.release()
        raise


def load_session(store: SessionStore, runtime: Runtime) -> Session:
    """A session with its history, usage and workspace record; started again on its next message."""
    meta = store.load_meta()
    state = AgentState(history=store.load_history(), goal=meta.goal)
    state.completions_since_summary = meta.completions_since_summary
    meter = Meter(usage=meta.usage_value(), steps=meta.steps, active_seconds=meta.active_seconds)
    # Loaded by its owner: a live status is what a dead previous owner left behind.
    status = "interrupted" if meta.status in LIVE_STATUSES else meta.status
    if status not in get_args(p.SessionStatus):
        status = "interrupted"
    workspace = None
    if meta.worktree and meta.branch and meta.start_ref:
        workspace = AgentWorkspace(
            repo_root=runtime.repo_root, path=Path(meta.worktree), branch=meta.branch, start_ref=meta.start_ref
        )
    session = Session(
        id=meta.id,
        runtime=runtime,
        title=meta.title,
        status=cast(p.SessionStatus, status),
        state=state,
        meter=meter,
        workspace=workspace,
        store=store,
        created_at=meta.created_at,
        turn_heads=list(meta.turn_heads),
        landed=meta.landed,
        branch_dropped=meta.branch_dropped,
        origin=meta.origin,
        tab=meta.tab,
    )
    planner_history = store.load_history(stream="planner")
    if planner_history:
        session.planner = AgentState(history=planner_history)
    session.active_agent = "planner" if meta.active_agent == "planner" and planner_history else "coding"
    return session


def replay_events(store: SessionStore) -> list[p.Event]:
    """The stored events of a session as protocol events (for a front end rebuilding its view)."""
    events: list[p.Event] = []
    for record in store.load_events():
        event = p.event_from_json(record)
        if event is not None:
            events.append(event)
    return events
