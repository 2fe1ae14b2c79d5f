"""What each operation does. ``dispatch`` matches the op; each handler is a few lines."""

from __future__ import annotations

from typing import TYPE_CHECKING, assert_never

from kwaak import protocol as p
from kwaak import telemetry
from kwaak.backend.runtime import usage_info
from kwaak.errors import IndexingError, KwaakError

if TYPE_CHECKING:
    from kwaak.backend.backend import Backend
    from kwaak.backend.session import Session


async def dispatch(backend: Backend, sid: p.SessionId, op: p.Op) -> None:
    """Run ``op`` for session ``sid``; errors propagate to the caller (which reports them)."""
    match op:
        case p.Chat(message=message):
            await backend.session(sid).chat(message)
        case p.RetryChat():
            await (await backend.require_ready(sid)).retry()
        case p.StopAgent():
            await _stop(backend, sid)
        case p.ShowDiff():
            await _show_diff(await backend.require_ready(sid))
        case p.PullDiff():
            await _pull_diff(backend, await backend.require_ready(sid))
        case p.Exec(cmd=cmd):
            await _exec(await backend.require_ready(sid), cmd)
        case p.IndexRepository():
            await index_repository(backend, sid)
        case p.ShowConfig():
            from kwaak.config import render_config

            backend.runtime.emit(sid, p.SystemMessage(text=render_config(backend.config)))
        case p.DeleteSession():
            await _delete(backend, sid)
        case _:
            await _dispatch_more(backend, sid, op)


async def _dispatch_more(
    backend: Backend,
    sid: p.SessionId,
    op: p.GithubFix
    | p.CreatePullRequest
    | p.ApproveCommand
    | p.Stats
    | p.Quit
    | p.Review
    | p.Land
    | p.ResolveConflict
    | p.Undo,
) -> None:
    match op:
        case p.GithubFix(number=number):
            await _github_fix(backend, sid, number)
        case p.CreatePullRequest():
            await _create_pr(await backend.require_ready(sid))
        case p.ApproveCommand(call_id=call_id, approved=approved):
            _approve(backend, sid, call_id, approved=approved)
        case p.Stats():
            _stats(backend, sid)
        case p.Quit():
            backend.request_shutdown()
        case p.Review() | p.Land() | p.ResolveConflict() | p.Undo():
            await _landing(backend, sid, op)
        case _:
            assert_never(op)


async def _landing(backend: Backend, sid: p.SessionId, op: p.Review | p.Land | p.ResolveConflict | p.Undo) -> None:
    from kwaak.backend import landing

    session = backend.sessions.get(sid)
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


def _approve(backend: Backend, sid: p.SessionId, call_id: str, *, approved: bool) -> None:
    session = backend.sessions.get(sid)
    if session is None or not session.answer_approval(call_id or None, approved=approved):
        backend.runtime.emit(sid, p.SystemMessage(text="No command is waiting for approval", level="warning"))


async def _stop(backend: Backend, sid: p.SessionId) -> None:
    session = backend.sessions.get(sid)
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
    for other in backend.sessions.values():
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
    assert session.executor is not None
    result = await session.executor.exec(cmd, timeout=session.runtime.config.limits.tool_timeout_sec)
    session.emit(p.SystemMessage(text=result.output or f"(no output, exit code {result.exit_code})"))


async def index_repository(backend: Backend, sid: p.SessionId) -> None:
    """Open the index if needed and update it incrementally, reporting progress."""
    from kwaak.index import CodeIndex

    rt = backend.runtime
    if rt.index is None:
        rt.index = await CodeIndex.open(rt.config, rt.repo_root, embedder=rt.models.embedder)

    def progress(update: object) -> None:
        done, total = getattr(update, "done", 0), getattr(update, "total", 0)
        message = getattr(update, "message", None) or f"Indexing a bit of code {done}/{total}"
        rt.emit(sid, p.IndexProgress(done=int(done), total=int(total), message=str(message)))
        rt.emit(sid, p.Activity(text=str(message)))

    try:
        with telemetry.span("index.update") as span:
            stats = await rt.index.update(progress)
            span.set_attribute("index.chunks", int(getattr(stats, "chunks", 0)))
    except KwaakError:
        raise
    except OSError as exc:
        msg = f"indexing failed: {exc}"
        raise IndexingError(msg, hint="check the cache dir is writable, or run `kwaak clear-cache`") from exc


async def _delete(backend: Backend, sid: p.SessionId) -> None:
    session = backend.sessions.pop(sid, None)
    if session is not None:
        await session.aclose(delete_workspace=True)
        if session.store is not None:
            session.store.delete()


async def _github_fix(backend: Backend, sid: p.SessionId, number: int) -> None:
    from kwaak.commands.github_issue import issue_task

    prompt = await issue_task(backend.config, number)
    await backend.session(sid).chat(prompt)


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
    for session in backend.sessions.values():
        u = usage_info(session.meter)
        name = session.title or session.id[:8]
        lines.append(
            f"- {name} [{session.status}]: {u.input_tokens}/{u.output_tokens} tokens, "
            f"${u.cost_usd:.4f}, {u.steps} steps"
        )
    backend.runtime.emit(sid, p.SystemMessage(text="\n".join(lines)))
