"""``kwaak sessions land|resolve|undo|review ID``: land a saved agent's branch, hand it a conflict, undo.

``land`` takes ``--squash``, ``--merge`` or ``--rebase`` and ``--base B`` (``git.main_branch`` by
default); ``undo`` takes ``--commit SHA`` (default: before the agent's last turn). They run the
backend's ``Land``, ``ResolveConflict``, ``Undo`` and ``Review`` operations on the restored session,
so the CLI and the TUI do the same thing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, get_args

from kwaak import protocol as p
from kwaak.errors import SessionError, UsageError
from kwaak.headless.printer import EventPrinter, OutputFormat

if TYPE_CHECKING:
    from kwaak.backend.persistence import SessionMeta, SessionStore
    from kwaak.config import Config

LANDING_ACTIONS = ("land", "resolve", "undo", "review")


class App(Protocol):
    """What this verb needs from the CLI's application context."""

    config: Config
    repo_root: Path


def landing_op(action: str, *, mode: str | None, base: str | None, commit: str | None) -> p.Op:
    """The operation for a ``kwaak sessions`` landing action.

    Raises:
        UsageError: ``land`` without a mode, or an unknown action.
    """
    match action:
        case "land":
            for known in get_args(p.LandMode):
                if mode == known:
                    return p.Land(mode=known, base=base)
            msg = "`kwaak sessions land` needs --squash, --merge or --rebase"
            raise UsageError(msg, hint="e.g. `kwaak sessions land 1a2b3c4d --squash --base main`")
        case "resolve":
            return p.ResolveConflict(base=base)
        case "undo":
            return p.Undo(commit=commit)
        case "review":
            return p.Review(base=base)
    msg = f"unknown action {action!r}"
    raise UsageError(msg, hint=f"use one of {', '.join(LANDING_ACTIONS)}")


def run_action(app: App, store: SessionStore, action: str, op: p.Op, output: OutputFormat) -> int:
    """Run ``op`` on the saved session and print its events; returns the exit code."""
    return asyncio.run(_run(app, store, op, EventPrinter(output=output)))


async def _run(app: App, store: SessionStore, op: p.Op, printer: EventPrinter) -> int:
    from kwaak.backend import Backend
    from kwaak.headless.exit_codes import command_exit_code

    config = app.config.model_copy(update={"endless_mode": True})
    async with Backend(config, app.repo_root, buffer_events=False) as backend:
        opened = await backend.run_op(store.session_id, p.OpenSession(replay=False))  # this process owns it now
        if not opened.ok:
            raise SessionError(opened.error or "could not open the session", hint=opened.hint)
        backend.add_listener(_ReviewPrinter(printer))
        completed = await backend.run_op(store.session_id, op)
    return command_exit_code(completed)


class _ReviewPrinter:
    """Prints events, rendering a review as a file table, the commit list and the diff."""

    def __init__(self, printer: EventPrinter) -> None:
        self.printer = printer

    def __call__(self, event: p.Event) -> None:
        if self.printer.output == "text" and isinstance(event.msg, p.ReviewShown):
            self.printer.stream.write(review_text(event.msg) + "\n")
            return
        self.printer(event)


def review_text(review: p.ReviewShown) -> str:
    """A plain-text review: header, files with +/- counts, commits, then the diff."""
    lines = [f"{review.branch} → {review.base}: {review.ahead} ahead, {review.behind} behind", "", "Files:"]
    for f in review.files:
        counts = "binary" if f.added < 0 else f"+{f.added} -{f.removed}"
        lines.append(f"  {counts:>12}  {f.path}")
    lines += ["", "Commits:"] + [f"  {c.sha[:8]} {c.subject}" for c in review.commits]
    return "\n".join([*lines, "", review.diff.rstrip()])


async def landing_states(repo_root: Path, metas: list[SessionMeta], base: str) -> dict[str, str]:
    """Session id → ``landed``/``unlanded`` with ahead/behind counts of its branch against ``base``."""
    from kwaak.git.land import git
    from kwaak.git.review import ahead_behind

    async def exists(ref: str) -> bool:
        return (await git(repo_root, "rev-parse", "--verify", "--quiet", ref, check=False)).ok

    states: dict[str, str] = {}
    base_ok = await exists(f"refs/heads/{base}")
    for meta in metas:
        branch_ref = f"refs/heads/{meta.branch}"
        if not meta.branch or not base_ok or not await exists(branch_ref):
            states[meta.id] = "-"
            continue
        ahead, behind = await ahead_behind(repo_root, f"refs/heads/{base}", branch_ref)
        label = "landed" if meta.landed else ("unlanded" if ahead else "no changes")
        states[meta.id] = f"{label} +{ahead}/-{behind}"
    return states
