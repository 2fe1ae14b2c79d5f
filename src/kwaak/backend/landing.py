"""Review, land, conflict hand-off and undo of an agent's branch (the ops ``Review``, ``Land``,
``ResolveConflict`` and ``Undo``).

Git work happens on the host in the user's repository on explicit refs (:mod:`kwaak.git.land`).
When the agent's branch itself must change (a conflict to resolve: the branch is rebased onto the
base with the conflicting rest as one commit holding markers; an undo), the session's
executor is closed, uncommitted work is committed, the worktree is removed, the branch ref is moved
with ``update-ref <ref> <new> <old>``, and the worktree is re-created from the branch: kwaak never
runs ``git merge``/``rebase``/``reset`` inside the agent's worktree, whose git dir the agent can
write. The next message restarts the executor on the new files.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from kwaak import protocol as p
from kwaak.agent.prompts import render
from kwaak.backend.resume import commit_work_in_progress
from kwaak.errors import GitError, KwaakError, MergeConflict, SessionBusy
from kwaak.git.commit import MAX_DIFF_CHARS, clean_message
from kwaak.git.land import (
    commit_of,
    default_squash_message,
    git,
    is_ancestor,
    land,
    merge_trees,
    out,
    rebase_for_resolution,
)
from kwaak.git.review import review_branch
from kwaak.git.workspace import AgentWorkspace, remove_workspace, restore_workspace
from kwaak.messages import UserMessage

if TYPE_CHECKING:
    from kwaak.backend.backend import Backend
    from kwaak.backend.session import Session

log = logging.getLogger(__name__)


def _workspace(session: Session) -> AgentWorkspace:
    if session.workspace is None:
        msg = "this agent has no branch yet"
        raise GitError(msg, hint="send the agent a message first")
    return session.workspace


def _idle(session: Session, what: str) -> None:
    if session.running:
        msg = f"cannot {what} while the agent is working"
        raise SessionBusy(msg, hint="wait for it, or stop it with ctrl-x (/stop)")


async def record_turn_head(session: Session) -> None:
    """Remember the branch's commit before a turn, so the turn can be undone."""
    if session.workspace is None:
        return
    ws = session.workspace
    head = await git(ws.repo_root, "rev-parse", "--verify", "--quiet", f"refs/heads/{ws.branch}", check=False)
    if head.ok and head.stdout.strip():
        session.turn_heads.append(head.stdout.strip())


async def review(backend: Backend, session: Session, base: str | None) -> None:
    """Emit :class:`~kwaak.protocol.ReviewShown` for the agent's branch against ``base``."""
    ws = _workspace(session)
    if not session.running:  # a restored session may have left uncommitted work too
        await commit_work_in_progress(ws, backend.config)
    result = await review_branch(ws.repo_root, branch=ws.branch, base=base or backend.config.main_branch)
    session.emit(
        p.ReviewShown(
            branch=result.branch,
            base=result.base,
            ahead=result.ahead,
            behind=result.behind,
            files=tuple(p.ReviewFile(path=f.path, added=f.added, removed=f.removed) for f in result.files),
            commits=tuple(
                p.ReviewCommit(sha=c.sha, subject=c.subject, body=c.body, author=c.author, timestamp=c.timestamp)
                for c in result.commits
            ),
            diff=result.diff,
            truncated=result.truncated,
        )
    )


async def land_session(backend: Backend, session: Session, mode: p.LandMode, base: str | None) -> p.Landed:
    """Land the agent's branch on ``base`` (warning about overlaps with other agents first).

    Raises:
        MergeConflict: with a hint to hand the conflict to the agent.
    """
    from kwaak.backend.actions import warn_overlaps

    ws = _workspace(session)
    _idle(session, "land the branch")
    base = base or backend.config.main_branch
    if ws.path.exists():
        await commit_work_in_progress(ws, backend.config)
    await warn_overlaps(backend, session)
    message = await _squash_message(session, base) if mode == "squash" else None
    try:
        result = await land(ws.repo_root, branch=ws.branch, base=base, mode=mode, message=message)
    except MergeConflict as exc:
        hint = "hand it to the agent with /resolve (CLI: `kwaak sessions resolve ID`), then land again"
        raise MergeConflict(exc.message, hint=hint, files=exc.files) from exc
    session.landed = f"{base}@{result.new_base}"
    session.persist()
    event = p.Landed(
        branch=ws.branch,
        base=base,
        mode=mode,
        old_base=result.old_base,
        new_base=result.new_base,
        commits=result.commits,
        checkout_updated=result.checkout_updated,
    )
    session.emit(event)
    session.emit(p.SystemMessage(text=result.describe()))
    return event


async def _squash_message(session: Session, base: str) -> str:
    """A commit message from the indexing model (metered), or a deterministic one without it."""
    ws, config = _workspace(session), session.runtime.config
    base_sha = await commit_of(ws.repo_root, f"refs/heads/{base}", what="base branch")
    title = session.title or ws.branch
    fallback = await default_squash_message(ws.repo_root, base_sha, ws.branch, title=title)
    if not config.git.generate_commit_message:
        return fallback
    diff = await out(ws.repo_root, "diff", "--no-color", "--no-ext-diff", "--no-textconv", f"{base_sha}...{ws.branch}")
    try:
        response = await session.runtime.models.indexing.complete_prompt(render("commit", diff=diff[:MAX_DIFF_CHARS]))
    except KwaakError as exc:
        log.warning("squash message generation failed, using the default: %s", exc)
        return fallback
    session.count_usage(response.usage)
    subject = clean_message(response.message.content or "").splitlines()
    if not subject or not subject[0].strip():
        return fallback
    return subject[0].strip() + fallback.removeprefix(title)


async def rewrite_branch(session: Session, new_tip: Callable[[str], Awaitable[str]], *, reason: str) -> str:
    """Move the agent's branch to ``await new_tip(current tip)`` with its worktree re-created.

    Returns:
        The new tip.
    """
    ws = _workspace(session)
    config = session.runtime.config
    await session.aclose()
    await commit_work_in_progress(ws, config)
    ref = f"refs/heads/{ws.branch}"
    tip = await commit_of(ws.repo_root, ref, what="agent branch")
    target = await new_tip(tip)
    await remove_workspace(ws)
    try:
        await git(ws.repo_root, "update-ref", "-m", f"kwaak: {reason}", ref, target, tip)
    finally:
        await restore_workspace(ws, session_id=session.id)
    return target


async def resolve_conflict(backend: Backend, session: Session, base: str | None) -> None:
    """Rebase the agent's branch onto ``base`` (conflicts left as markers) and ask the agent to resolve them."""
    ws = _workspace(session)
    _idle(session, "hand over a conflict")
    base = base or backend.config.main_branch
    base_sha = await commit_of(ws.repo_root, f"refs/heads/{base}", what="base branch")
    conflicts: tuple[str, ...] = ()

    async def rebased(tip: str) -> str:
        nonlocal conflicts
        _, conflicts = await merge_trees(ws.repo_root, tip, base_sha)
        if not conflicts:
            return tip
        new_tip, conflicts = await rebase_for_resolution(ws.repo_root, tip=tip, base=base_sha, base_name=base)
        return new_tip

    await rewrite_branch(session, rebased, reason=f"rebase onto {base} for conflict resolution")
    if not conflicts:
        session.emit(p.SystemMessage(text=f"{ws.branch} merges cleanly into {base}: nothing to resolve"))
        return
    session.emit(p.SystemMessage(text=f"Handed the conflict in {', '.join(conflicts)} to the agent"))
    test_command = session.runtime.config.commands.test
    await session.chat(render("resolve_conflict", base=base, files=list(conflicts), test_command=test_command))


async def undo(session: Session, commit: str | None) -> None:
    """Reset the agent's branch to before its last turn (or to ``commit``) and note it in the conversation."""
    ws = _workspace(session)
    _idle(session, "undo")
    repo = ws.repo_root
    if commit is None:
        if not session.turn_heads:
            msg = "there is no turn to undo"
            raise GitError(msg, hint="send the agent a message first")
        target, what = session.turn_heads[-1], "your last turn"
    else:
        target = await commit_of(repo, commit, what="commit")
        tip = await commit_of(repo, f"refs/heads/{ws.branch}", what="agent branch")
        if not (await is_ancestor(repo, ws.start_ref, target) and await is_ancestor(repo, target, tip)):
            msg = f"{commit!r} is not a commit of {ws.branch!r}"
            raise GitError(msg, hint="pick one from the commit list of /review")
        what = "your work after that commit"

    async def to_target(tip: str) -> str:
        return target

    await rewrite_branch(session, to_target, reason="undo")
    kept = [h for h in session.turn_heads if h != target and await is_ancestor(repo, h, target)]
    session.turn_heads = kept
    subject = await out(repo, "log", "-1", "--format=%s", target)
    note = (
        f"(Note from kwaak: the user undid {what}. Your branch `{ws.branch}` was reset to {target[:8]} "
        f'"{subject}"; the files are back as they were then. Do not redo the undone work unless asked.)'
    )
    session.state.history.append(UserMessage(content=note))
    session.persist()
    session.emit(p.SystemMessage(text=f"Undid {what.removeprefix('your ')}: {ws.branch} is back at {target[:8]}"))
