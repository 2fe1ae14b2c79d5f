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
    from kwaak.backend import Backend
    from kwaak.ui import KwaakApp


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

        return Backend(config, repo_root)

    async def connect() -> Backend:
        # Importing the engine and SDKs takes most of a second: keep it off the UI thread.
        return await asyncio.to_thread(build)

    return KwaakApp(connect, skip_indexing=app.skip_indexing, hide_header=config.ui.hide_header)


def run(app: App) -> int:
    """Run the TUI until the user quits; returns the exit code (0 after a normal quit)."""
    return asyncio.run(_main(build_app(app)))


async def _main(tui: KwaakApp) -> int:
    try:
        await tui.run_async()
    finally:
        # A normal quit already closed it; after a crash or a signal this still cleans up.
        await tui.bridge.aclose()
    return tui.return_code or 0
