"""What each operation does. ``dispatch`` matches the op; each handler is a few lines."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, assert_never

from kwaak import protocol as p
from kwaak.backend.indexing import index_repository
from kwaak.backend.modelctx import model_for
from kwaak.backend.runtime import usage_info
from kwaak.config.model import Budget
from kwaak.errors import KwaakError, SessionError, SessionInUse

if TYPE_CHECKING:
    from kwaak.backend.backend import Backend
    from kwaak.backend.session import Session


class CommandFailed(KwaakError):
    """A command the user ran with ``/exec`` exited non-zero."""

    kind = "command_failed"


async def dispatch(backend: Backend, sid: p.SessionId, op: p.Op) -> None:
    """Run ``op`` for session ``sid``; errors propagate to the caller (which reports them)."""
    match op:
        case p.Chat():
            await _chat(backend, sid, op)
        case p.RetryChat():
            session = await backend.require_ready(sid)
            await _summarized(session, session.retry())
        case p.StopAgent():
            await _stop(backend, sid)
        case p.ShowDiff():
            await _show_diff(await backend.require_ready(sid))
        case p.PullDiff():
            await _pull_diff(backend, await backend.require_ready(sid))
        case p.Exec(cmd=cmd):
            await _exec(await backend.require_ready(sid), cmd)
        case p.IndexRepository():
            await index_repository(backend.runtime, sid)
        case p.ShowConfig() | p.Stats():
            _report(backend, sid, op)
        case p.ListSessions() | p.OpenSession() | p.DeleteSession():
            await _stored_sessions_op(backend, sid, op)
        case _:
            await _dispatch_more(backend, sid, op)


async def _dispatch_more(
    backend: Backend,
    sid: p.SessionId,
    op: p.GithubFix
    | p.CreatePullRequest
    | p.ApproveCommand
    | p.CompactContext
    | p.SwitchModel
    | p.Quit
    | p.Review
    | p.Land
    | p.ResolveConflict
    | p.Undo
    | p.Compare,
) -> None:
    match op:
        case p.GithubFix(number=number):
            await _github_fix(backend, sid, number)
        case p.CreatePullRequest():
            await _create_pr(await backend.require_ready(sid))
        case p.ApproveCommand(call_id=call_id, approved=approved):
            _approve(backend, sid, call_id, approved=approved)
        case p.CompactContext() | p.SwitchModel():
            await _context_op(backend, sid, op)
        case p.Quit():
            backend.request_shutdown()
        case p.Review() | p.Land() | p.ResolveConflict() | p.Undo():
            await _landing(backend, sid, op)
        case p.Compare():
            from kwaak.backend.compare import compare

            await compare(backend, sid, op)
        case _:
            assert_never(op)


async def _landing(backend: Backend, sid: p.SessionId, op: p.Review | p.Land | p.ResolveConflict | p.Undo) -> None:
    from kwaak.backend import landing

    session = backend._sessions.get(sid)
    if session is None or session.workspace is None:
        msg = "No agent found (yet), is it starting up?"
        raise KwaakError(msg, hint="send the agent a message first")
    match op:
        case p.Review(base=base):
            await landing.review(backend, session, base)
        case p.Land(mode=mode, base=base):
            await landing.land_session(backend, session, mode, base)
        case p.ResolveConflict(base=base):
            await landing.resolve_conflict(backend, session, base)
        case p.Undo(commit=commit):
            await landing.undo(session, commit)


async def _chat(backend: Backend, sid: p.SessionId, op: p.Chat) -> None:
    session = backend.session(sid)
    apply_options(backend, session, op)
    await _summarized(session, session.chat(op.message))


async def _summarized(session: Session, turn: Awaitable[object]) -> None:
    """Run a turn and announce the session's summary when it ends (however it ends)."""
    try:
        await turn
    finally:
        session.emit(session.summary())


def apply_options(backend: Backend, session: Session, op: p.Chat) -> None:
    """Apply the agent options of a ``Chat`` (budget, executor, model, start_from) before its turn.

    Raises:
        SessionError: the executor of an agent that already started cannot change.
        ConfigError: a cost limit with an unpriced model.
    """
    from kwaak.agent.budget import require_prices

    config = backend.config
    if op.executor is not None and op.executor != (session.executor_kind or config.tool_executor):
        if session.started:
            msg = f"the agent already runs with the {session.executor_kind or config.tool_executor} executor"
            raise SessionError(msg, hint="start a new agent to use another executor")
        session.executor_kind = op.executor
    if op.start_from is not None and op.start_from != (session.start_from or config.start_from):
        if session.workspace is not None:
            msg = "the agent's branch already exists; it cannot start from another commit"
            raise SessionError(msg, hint="start a new agent to start from elsewhere")
        session.start_from = op.start_from
    if op.model is not None:
        session.model_name = model_for(backend.runtime, op.model).name
    if op.budget is not None:
        session.budget = merged_budget(session.budget or config.limits.agent, op.budget)
    require_prices(config, [session.budget or config.limits.agent, config.limits.team], query_model=op.model)


def merged_budget(base: Budget, override: p.AgentBudget) -> Budget:
    """``base`` with the limits ``override`` sets."""
    return Budget(
        max_steps=override.max_steps or base.max_steps,
        max_tokens=override.max_tokens or base.max_tokens,
        max_cost_usd=override.max_cost_usd or base.max_cost_usd,
        max_wall_time_sec=override.max_wall_time_sec or base.max_wall_time_sec,
    )


def _report(backend: Backend, sid: p.SessionId, op: p.ShowConfig | p.Stats) -> None:
    if isinstance(op, p.Stats):
        _stats(backend, sid)
        return
    from kwaak.config import render_config

    backend.runtime.emit(sid, p.SystemMessage(text=render_config(backend.config)))


async def _context_op(backend: Backend, sid: p.SessionId, op: p.CompactContext | p.SwitchModel) -> None:
    if isinstance(op, p.SwitchModel):
        backend.session(sid).switch_model(op.name)
    else:
        await (await backend.require_ready(sid)).compact()


def _approve(backend: Backend, sid: p.SessionId, call_id: str, *, approved: bool) -> None:
    session = backend._sessions.get(sid)
    if session is None or not session.answer_approval(call_id or None, approved=approved):
        backend.runtime.emit(sid, p.SystemMessage(text="No command is waiting for approval", level="warning"))


async def _stop(backend: Backend, sid: p.SessionId) -> None:
    session = backend._sessions.get(sid)
    if session is None:
        msg = "No agent found (yet), is it starting up?"
        raise KwaakError(msg, hint="send the agent a message first")
    stopped = await session.stop()
    session.emit(p.SystemMessage(text="Agent stopped" if stopped else "Agent already stopped"))


async def _show_diff(session: Session) -> None:
    from kwaak.git.diffs import agent_diff

    assert session.workspace is not None
    diff = await agent_diff(session.workspace.path, session.workspace.start_ref, repo_root=session.workspace.repo_root)
    session.emit(p.DiffShown(diff=diff) if diff.strip() else p.SystemMessage(text="No changes"))


async def _pull_diff(backend: Backend, session: Session) -> None:
    from kwaak.git.diffs import pull_into_checkout

    assert session.workspace is not None
    ws = session.workspace
    await warn_overlaps(backend, session)
    branch = await pull_into_checkout(backend.runtime.repo_root, ws.path, ws.branch, ws.start_ref)
    session.emit(p.SystemMessage(text=f"Pulled diff into branch `{branch}`"))


async def warn_overlaps(backend: Backend, session: Session) -> None:
    """Warn when another agent changed the same lines as this one (before pulling its work)."""
    from kwaak.git.overlap import describe_overlaps, find_overlaps

    assert session.workspace is not None
    me = _label(session)
    refs = {me: session.workspace.branch}
    for other in backend._sessions.values():
        if other is not session and other.workspace is not None:
            refs[_label(other)] = other.workspace.branch
    if len(refs) < 2:
        return
    overlaps = [o for o in await find_overlaps(backend.runtime.repo_root, refs) if me in (o.first, o.second)]
    for line in describe_overlaps(overlaps):
        session.emit(p.SystemMessage(text=f"Overlap with another agent: {line}", level="warning"))


def _label(session: Session) -> str:
    short = session.id[:8]
    return f"{session.title} ({short})" if session.title else short


async def _exec(session: Session, cmd: str) -> None:
    """``/exec``: run ``cmd`` in the workspace (stopped like a turn) and report its real exit code."""
    session.emit(p.Activity(text=f"running `{cmd}`"))
    result = await session.run_command(cmd)
    output = result.output.rstrip()
    if result.ok:
        session.emit(p.SystemMessage(text=output or "(no output)"))
        return
    if output:
        session.emit(p.SystemMessage(text=output))
    timeout = session.runtime.config.limits.tool_timeout_sec
    why = f"was stopped after {timeout:g} seconds" if result.timed_out else f"exited with code {result.exit_code}"
    raise CommandFailed(f"`{cmd}` {why}", hint=None)


async def _stored_sessions_op(
    backend: Backend, sid: p.SessionId, op: p.ListSessions | p.OpenSession | p.DeleteSession
) -> None:
    if isinstance(op, p.DeleteSession):
        await _delete(backend, sid)
        return
    if isinstance(op, p.OpenSession):
        _open_session(backend, sid, replay=op.replay)
        return
    listed = tuple(e.info(open_here=e.id in backend._sessions) for e in backend.stored_sessions())
    backend.runtime.emit(sid, p.SessionsListed(sessions=listed))


def _open_session(backend: Backend, sid: p.SessionId, *, replay: bool) -> None:
    from kwaak.backend.restore import replay_events

    session = backend.open_session(sid)
    if replay:  # a TUI opens it as a chat tab (it reopens as one after a restart)
        session.tab = True
        session.persist()
    events = tuple(replay_events(session.store)) if session.store is not None and replay else ()
    workspace = session.workspace
    session.emit(
        p.SessionOpened(
            title=session.title,
            status=session.status,
            branch=workspace.branch if workspace else None,
            usage=usage_info(session.meter),
            team=usage_info(backend.runtime.team),
            events=events,
        )
    )


async def _delete(backend: Backend, sid: p.SessionId) -> None:
    """Delete a session open here, or a stored one nobody else owns (with its worktree)."""
    session = backend._sessions.get(sid)
    if session is None and backend.persist and (backend.store_root / sid).is_dir():
        try:
            session = backend.open_session(sid)  # takes its lock; fails when another process owns it
        except SessionInUse:
            raise
        except SessionError:  # damaged beyond repair: nothing to resume, so only its files go
            from kwaak.backend.persistence import SessionStore

            SessionStore(backend.store_root, sid).delete()
            return
    backend._sessions.pop(sid, None)
    if session is not None:
        await session.aclose(delete_workspace=True)
        if session.store is not None:
            session.store.delete()


async def _github_fix(backend: Backend, sid: p.SessionId, number: int) -> None:
    from kwaak.commands.github_issue import issue_task

    prompt = await issue_task(backend.config, number)
    session = backend.session(sid)
    await _summarized(session, session.chat(prompt))


async def _create_pr(session: Session) -> None:
    from kwaak.tools.github_tools import open_pull_request

    assert session.ctx is not None and session.ctx.workspace is not None
    title = session.title or "Changes by kwaak"
    url = await open_pull_request(session.runtime.config, session.ctx.workspace, title=title, body=title)
    session.pull_request_url = url
    session.emit(p.SystemMessage(text=f"Pull request: {url}"))


def _stats(backend: Backend, sid: p.SessionId) -> None:
    team = usage_info(backend.runtime.team)
    lines = [
        f"Team: {team.input_tokens} in / {team.output_tokens} out tokens, ${team.cost_usd:.4f}, {team.steps} steps"
    ]
    for session in backend._sessions.values():
        u = usage_info(session.meter)
        name = session.title or session.id[:8]
        lines.append(
            f"- {name} [{session.status}]: {u.input_tokens}/{u.output_tokens} tokens, "
            f"${u.cost_usd:.4f}, {u.steps} steps"
        )
    backend.runtime.emit(sid, p.SystemMessage(text="\n".join(lines)))
