"""``kwaak sessions [list|show|resume|delete|prune|land|resolve|undo|review]``: this repository's saved sessions.

``land``, ``resolve``, ``undo`` and ``review`` live in :mod:`kwaak.commands.land_cmd`, ``prune`` in
:mod:`kwaak.commands.sessions_prune`.

Session ids may be abbreviated to any unique prefix. A session owned by another live kwaak process
is shown as "in use by pid N" and can be read (list, show) but not resumed or deleted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from pathlib import Path
from typing import Protocol

from kwaak import protocol as p
from kwaak.backend.store_index import SessionEntry, list_sessions
from kwaak.backend.store_lock import in_use_error
from kwaak.commands.land_cmd import LANDING_ACTIONS, landing_op, landing_states, run_action
from kwaak.config import Config
from kwaak.errors import SessionError, SessionNotFound, UsageError
from kwaak.headless.printer import EventPrinter, OutputFormat
from kwaak.textsafe import escape_controls, one_line


class App(Protocol):
    """What this verb needs from the CLI's application context."""

    config: Config
    repo_root: Path


def run(
    app: App,
    action: str = "list",
    session_id: str | None = None,
    *,
    message: str | None = None,
    output: OutputFormat = "text",
    mode: str | None = None,
    base: str | None = None,
    commit: str | None = None,
    merged: bool = False,
    older_than: str | None = None,
    dry_run: bool = False,
) -> int:
    """Dispatch the sub-action; returns the exit code."""
    if action == "list":
        return _list(app.config, app.repo_root)
    if action == "prune":
        from kwaak.commands.sessions_prune import prune

        return asyncio.run(prune(app, merged=merged, older_than=older_than, dry_run=dry_run))
    entry = find_entry(app.config, app.repo_root, session_id or "")
    if action in LANDING_ACTIONS:
        if entry.in_use_elsewhere:
            raise in_use_error(entry.id, entry.owner)
        op = landing_op(action, mode=mode, base=base, commit=commit)
        return run_action(app, entry.store, action, op, output)
    if action == "show":
        return _show(entry)
    if action == "delete":
        return asyncio.run(_delete(app, entry))
    if action == "resume":
        return _resume(app, entry, message, EventPrinter(output=output))
    msg = f"unknown action {action!r}"
    raise UsageError(msg, hint="use list, show, resume, delete, prune, land, resolve, undo or review")


def find_entry(config: Config, repo_root: Path, prefix: str) -> SessionEntry:
    """This repository's stored session whose id starts with ``prefix``.

    Raises:
        SessionNotFound: none or several match.
    """
    matches = [e for e in list_sessions(config.cache_dir, repo_root) if e.id.startswith(prefix)]
    if len(matches) == 1:
        return matches[0]
    what = "no saved session" if not matches else f"{len(matches)} saved sessions"
    msg = f"{what} match {prefix!r}"
    raise SessionNotFound(msg, hint="list them with `kwaak sessions`")


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def status_text(entry: SessionEntry) -> str:
    """The status column: the effective status, and who owns the session when another process does."""
    if entry.in_use_elsewhere:
        return f"{entry.status} (in use by pid {entry.owner})"
    return entry.status


def describe(entry: SessionEntry) -> str:
    """One line per session for ``kwaak sessions``."""
    meta = entry.meta
    if meta is None:
        return f"{entry.id[:8]}  {'damaged':<16} {'-':<9}  {'-':<16}  {one_line(entry.problem or '')}"
    usage = meta.usage_value()
    title = one_line(meta.title or "(untitled)")[:40]
    return (
        f"{meta.id[:8]}  {status_text(entry):<16} {meta.origin or '-':<9}  {_when(meta.updated_at)}  {title:<40}  "
        f"{one_line(meta.branch or '-')}  {usage.total_tokens} tok  ${usage.cost_usd:.4f}"
    )


def _report_problems(entries: list[SessionEntry]) -> None:
    for entry in entries:
        for problem in entry.store.problems:
            print(f"warning: {escape_controls(problem)}", file=sys.stderr)


def _list(config: Config, repo_root: Path) -> int:
    entries = list_sessions(config.cache_dir, repo_root)
    _report_problems(entries)
    if not entries:
        print("No saved sessions.")
        return 0
    main = config.main_branch
    print(f"{'id':<8}  {'status':<16} {'origin':<9}  {'updated':<16}  {'title':<40}  branch  usage  vs {main}")
    metas = [e.meta for e in entries if e.meta is not None]
    states = asyncio.run(landing_states(repo_root, metas, main))
    for entry in entries:
        print(f"{describe(entry)}  {states.get(entry.id, '-')}" if entry.meta else describe(entry))
    for line in asyncio.run(_overlaps(repo_root, [(m.id, m.branch) for m in metas])):
        print(f"warning: {escape_controls(line)}")
    return 0


async def _overlaps(repo_root: Path, branches: list[tuple[str, str | None]]) -> list[str]:
    """Sessions whose branches changed the same lines of the same files."""
    from kwaak.git.cli import run_git
    from kwaak.git.overlap import describe_overlaps, find_overlaps

    refs: dict[str, str] = {}
    for session_id, branch in branches:
        if branch and (await run_git(repo_root, "rev-parse", "--verify", "--quiet", branch, check=False)).ok:
            refs[session_id[:8]] = branch
    return describe_overlaps(await find_overlaps(repo_root, refs)) if len(refs) > 1 else []


def _show(entry: SessionEntry) -> int:
    _report_problems([entry])
    print(describe(entry))
    meta = entry.meta
    if meta is not None:
        details = f"worktree: {meta.worktree or '-'}\nstart ref: {meta.start_ref or '-'}\ngoal: {meta.goal or '-'}\n"
        print(escape_controls(details))
    printer = EventPrinter(output="text")
    for record in entry.store.load_events():
        event = p.event_from_json(record)
        if event is not None:
            printer(event)
    for problem in entry.store.problems:
        print(f"warning: {escape_controls(problem)}", file=sys.stderr)
    return 0


async def _delete(app: App, entry: SessionEntry) -> int:
    if entry.in_use_elsewhere:
        raise in_use_error(entry.id, entry.owner)
    await delete_sessions(app, [entry.id])
    print(f"Deleted session {entry.id[:8]} (its branch is kept).")
    return 0


async def delete_sessions(app: App, session_ids: list[str]) -> None:
    """Delete stored sessions with their worktrees (their branches stay).

    Raises:
        SessionError: one could not be deleted (e.g. another process took it meanwhile).
    """
    from kwaak.backend import Backend
    from kwaak.backend.runtime import Models
    from kwaak.llm.testing import ScriptedModel

    models = Models(indexing=ScriptedModel(), query=ScriptedModel())  # deleting needs no model
    async with Backend(app.config, app.repo_root, models=models, buffer_events=False) as backend:
        for session_id in session_ids:
            done = await backend.run_op(session_id, p.DeleteSession())
            if not done.ok:
                raise SessionError(done.error or "could not delete the session", hint=done.hint)


def _resume(app: App, entry: SessionEntry, message: str | None, printer: EventPrinter) -> int:
    from kwaak.commands.run_agent import headless_config
    from kwaak.headless.runner import AgentJob, HeadlessRunner

    if entry.in_use_elsewhere:
        raise in_use_error(entry.id, entry.owner)
    title = entry.meta.title if entry.meta else None
    print(f"Resuming {one_line(title or entry.id[:8])} ({entry.status})", file=sys.stderr)
    # ``restore``: the runner opens (claims) this session first; another live owner makes that fail.
    runner = HeadlessRunner(headless_config(app.config), app.repo_root, restore=True, index=False, listeners=[printer])
    op: p.Chat | p.RetryChat = p.Chat(message=message) if message else p.RetryChat()
    results = asyncio.run(runner.run([AgentJob(session_id=entry.id, op=op)]))
    for result in results:
        printer.record(result)
    return runner.exit_code(results)
