"""``kwaak`` / ``kwaak tui``: the terminal UI.

The app draws its first frame before the engine is imported: the backend is built in a thread
that the app starts after its first frame. Whatever way the app ends, the backend is closed (agents cancelled,
executors closed, worktrees removed) before this returns.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from kwaak.config import Config

if TYPE_CHECKING:
    from kwaak import protocol as p
    from kwaak.backend import Backend
    from kwaak.ui import KwaakApp
    from kwaak.ui.bridge import Connection, RestoredChat


class App(Protocol):
    """What the TUI needs from the CLI's application context."""

    config: Config
    repo_root: Path
    skip_indexing: bool


def build_app(app: App) -> KwaakApp:
    """The Textual app for this repository and configuration (the backend is built lazily)."""
    from kwaak.ui import KwaakApp

    config, repo_root = app.config, app.repo_root

    def build() -> Backend:
        from kwaak.backend import Backend

        return Backend(config, repo_root, interactive=True)

    async def connect() -> Connection:
        from kwaak.backend.runtime import usage_info
        from kwaak.ui.bridge import Connection

        # Importing the engine and SDKs takes most of a second: keep it off the UI thread.
        backend = await asyncio.to_thread(build)
        restored = await backend.start()  # open chat tabs come back; leftovers of crashed runs go
        team = usage_info(backend.runtime.team)
        return Connection(backend, [restored_chat(session) for session in restored], team=team)

    return KwaakApp(
        connect,
        skip_indexing=app.skip_indexing,
        hide_header=config.ui.hide_header,
        bell=config.ui.bell,
        notifications=config.ui.notifications,
        settle_gc=True,
    )


def restored_chat(session: p.RestoredSession) -> RestoredChat:
    """What the UI needs to show a restored session again."""
    from kwaak.ui.bridge import RestoredChat

    return RestoredChat(
        session_id=session.session_id,
        title=session.summary.title,
        status=session.summary.status,
        branch=session.summary.branch,
        events=session.events,
    )


def run(app: App) -> int:
    """Run the TUI until the user quits; returns the exit code (0 after a normal quit)."""
    return asyncio.run(run_app(build_app(app)))


async def run_app(tui: KwaakApp) -> int:
    """Run ``tui`` and make sure its backend is closed afterwards; returns the exit code.

    Afterwards, on the normal screen, a short summary lists the sessions and how to resume them.
    """
    from kwaak.ui.session_control import exit_summary

    try:
        await tui.run_async()
    finally:
        # A normal quit already closed it; after a crash or a signal this still cleans up.
        await tui.bridge.aclose()
    summary = exit_summary(tui.chats) if tui.deck is not None else ""
    if summary:
        print(summary)
    return tui.return_code or 0


_main = run_app  # kept for callers written against the first version
