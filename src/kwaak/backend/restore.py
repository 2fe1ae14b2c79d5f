"""Rebuild a :class:`Session` from its store (after a quit, a crash or a ``kill -9``)."""

from __future__ import annotations

from pathlib import Path
from typing import cast, get_args

from kwaak import protocol as p
from kwaak.agent.budget import Meter
from kwaak.agent.loop import AgentState
from kwaak.backend.persistence import SessionStore
from kwaak.backend.runtime import Runtime
from kwaak.backend.session import Session
from kwaak.git.workspace import AgentWorkspace

_LIVE = ("running", "starting")


def load_session(store: SessionStore, runtime: Runtime) -> Session:
    """A session with its history, usage and workspace record; started again on its next message."""
    meta = store.load_meta()
    state = AgentState(history=store.load_history(), goal=meta.goal)
    state.completions_since_summary = meta.completions_since_summary
    meter = Meter(usage=meta.usage_value(), steps=meta.steps, active_seconds=meta.active_seconds)
    status = "interrupted" if meta.status in _LIVE else meta.status
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
    )
    planner_history = store.load_history(stream="planner")
    if planner_history:
        session.planner = AgentState(history=planner_history)
    session.active_agent = "planner" if meta.active_agent == "planner" and planner_history else "coding"
    runtime.team.add(meter.usage)
    runtime.team.steps += meter.steps
    return session


def replay_events(store: SessionStore) -> list[p.Event]:
    """The stored events of a session as protocol events (for a front end rebuilding its view)."""
    events: list[p.Event] = []
    for record in store.load_events():
        event = p.event_from_json(record)
        if event is not None:
            events.append(event)
    return events
