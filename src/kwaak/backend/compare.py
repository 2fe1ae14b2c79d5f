"""Best-of-N: compare agents that worked on the same task (the ``Compare`` op).

For each agent: its status, whether the project's tests pass in its workspace (``commands.test``
run in the agent's own executor, so an isolated agent's tests stay isolated), the size of its
branch's diff against the base, its cost and its active time.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from kwaak import protocol as p
from kwaak.backend.runtime import usage_info
from kwaak.errors import KwaakError
from kwaak.git.review import review_branch

if TYPE_CHECKING:
    from kwaak.backend.backend import Backend
    from kwaak.backend.session import Session


async def compare(backend: Backend, sid: p.SessionId, op: p.Compare) -> p.ComparisonShown:
    """Emit and return a :class:`~kwaak.protocol.ComparisonShown` for ``op.sessions``.

    Raises:
        KwaakError: a session id is unknown.
    """
    base = op.base or backend.config.main_branch
    missing = [s for s in op.sessions if s not in backend._sessions]
    if missing:
        msg = f"no agent {missing[0]!r} to compare"
        raise KwaakError(msg, hint="compare agents of this kwaak run (their session ids)")
    rows = await asyncio.gather(
        *(_row(backend, backend._sessions[s], base, run_tests=op.run_tests) for s in op.sessions)
    )
    shown = p.ComparisonShown(base=base, rows=tuple(rows))
    backend.runtime.emit(sid, shown)
    return shown


async def _row(backend: Backend, session: Session, base: str, *, run_tests: bool) -> p.ComparisonRow:
    files = added = removed = 0
    if session.workspace is not None:
        try:
            review = await review_branch(backend.runtime.repo_root, branch=session.workspace.branch, base=base)
        except KwaakError:
            pass
        else:
            files = len(review.files)
            added = sum(max(f.added, 0) for f in review.files)
            removed = sum(max(f.removed, 0) for f in review.files)
    usage = usage_info(session.meter)
    model = session.model
    return p.ComparisonRow(
        session_id=session.id,
        title=session.title,
        branch=session.workspace.branch if session.workspace else None,
        model=model.name,
        status=session.status,
        tests=await _tests(backend, session) if run_tests else "not run",
        files=files,
        added=added,
        removed=removed,
        cost_usd=usage.cost_usd,
        seconds=round(session.meter.wall_seconds, 1),
        landed=session.landed is not None,
    )


async def _tests(backend: Backend, session: Session) -> p.TestsOutcome:
    command = backend.config.commands.test
    if not command or session.workspace is None or session.running:
        return "not run"
    try:
        ready = await backend.require_ready(session.id)
    except KwaakError:
        return "not run"
    assert ready.executor is not None
    result = await ready.executor.exec(command, timeout=backend.config.limits.tool_timeout_sec)
    return "passed" if result.exit_code == 0 else "failed"
