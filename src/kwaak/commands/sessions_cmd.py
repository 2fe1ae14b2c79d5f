"""``kwaak sessions [list|show ID|resume ID|delete ID|land ID|resolve ID|undo ID|review ID]``: saved agent sessions.

``land``, ``resolve``, ``undo`` and ``review`` live in :mod:`kwaak.commands.land_cmd`.

Session ids may be abbreviated to any unique prefix.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from pathlib import Path
from typing import Protocol

from kwaak import protocol as p
from kwaak.backend.persistence import SessionMeta, SessionStore, list_stores
from kwaak.commands.land_cmd import LANDING_ACTIONS, landing_op, landing_states, run_action
from kwaak.config import Config
from kwaak.errors import SessionNotFound, UsageError
from kwaak.headless.printer import EventPrinter, OutputFormat


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
) -> int:
    """Dispatch the sub-action; returns the exit code."""
    if action == "list":
        return _list(app.config, app.repo_root)
    store = find_store(app.config, session_id or "")
    if action in LANDING_ACTIONS:
        op = landing_op(action, mode=mode, base=base, commit=commit)
        return run_action(app, store, action, op, output)
    if action == "show":
        return _show(store)
    if action == "delete":
        return asyncio.run(_delete(app, store))
    if action == "resume":
        return _resume(app, store, message, EventPrinter(output=output))
    msg = f"unknown action {action!r}"
    raise UsageError(msg, hint="use list, show, resume or delete")


def find_store(config: Config, prefix: str) -> SessionStore:
    """The stored session whose id starts with ``prefix``.

    Raises:
        SessionNotFound: none or several match.
    """
    matches = [s for s in list_stores(config.cache_dir) if s.session_id.startswith(prefix)]
    if len(matches) == 1:
        return matches[0]
    what = "no saved session" if not matches else f"{len(matches)} saved sessions"
    msg = f"{what} match {prefix!r}"
    raise SessionNotFound(msg, hint="list them with `kwaak sessions`")


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def describe(meta: SessionMeta) -> str:
    """One line per session for ``kwaak sessions``."""
    usage = meta.usage_value()
    title = (meta.title or "(untitled)")[:40]
    return (
        f"{meta.id[:8]}  {meta.status:<16} {_when(meta.updated_at)}  {title:<40}  "
        f"{meta.branch or '-'}  {usage.total_tokens} tok  ${usage.cost_usd:.4f}"
    )


def _list(config: Config, repo_root: Path) -> int:
    stores = list_stores(config.cache_dir)
    if not stores:
        print("No saved sessions.")
        return 0
    print(f"{'id':<8}  {'status':<16} {'updated':<16}  {'title':<40}  branch  usage  vs {config.main_branch}")
    metas = [store.load_meta() for store in stores]
    states = asyncio.run(landing_states(repo_root, metas, config.main_branch))
    for meta in metas:
        print(f"{describe(meta)}  {states.get(meta.id, '-')}")
    for line in asyncio.run(_overlaps(repo_root, metas)):
        print(f"warning: {line}")
    return 0


async def _overlaps(repo_root: Path, metas: list[SessionMeta]) -> list[str]:
    """Sessions whose branches changed the same lines of the same files."""
    from kwaak.git.cli import run_git
    from kwaak.git.overlap import describe_overlaps, find_overlaps

    refs: dict[str, str] = {}
    for meta in metas:
        if meta.branch and (await run_git(repo_root, "rev-parse", "--verify", "--quiet", meta.branch, check=False)).ok:
            refs[meta.id[:8]] = meta.branch
    return describe_overlaps(await find_overlaps(repo_root, refs)) if len(refs) > 1 else []


def _show(store: SessionStore) -> int:
    meta = store.load_meta()
    print(describe(meta))
    print(f"worktree: {meta.worktree or '-'}\nstart ref: {meta.start_ref or '-'}\ngoal: {meta.goal or '-'}\n")
    printer = EventPrinter(output="text")
    for record in store.load_events():
        event = p.event_from_json(record)
        if event is not None:
            printer(event)
    return 0


async def _delete(app: App, store: SessionStore) -> int:
    from kwaak.backend import Backend
    from kwaak.backend.runtime import Models
    from kwaak.llm.testing import ScriptedModel

    models = Models(indexing=ScriptedModel(), query=ScriptedModel())  # deleting needs no model
    backend = Backend(app.config, app.repo_root, models=models, buffer_events=False)
    backend.restore_sessions()
    await backend.run_op(store.session_id, p.DeleteSession())
    store.delete()
    await backend.aclose()
    print(f"Deleted session {store.session_id[:8]} (its branch is kept).")
    return 0


def _resume(app: App, store: SessionStore, message: str | None, printer: EventPrinter) -> int:
    from kwaak.commands.run_agent import headless_config
    from kwaak.headless.runner import AgentJob, HeadlessRunner

    meta = store.load_meta()
    print(f"Resuming {meta.title or meta.id[:8]} ({meta.status})", file=sys.stderr)
    runner = HeadlessRunner(headless_config(app.config), app.repo_root, restore=True, index=False, listeners=[printer])
    op: p.Chat | p.RetryChat = p.Chat(message=message) if message else p.RetryChat()
    results = asyncio.run(runner.run([AgentJob(session_id=store.session_id, op=op)]))
    for result in results:
        printer.record(result)
    return runner.exit_code(results)
