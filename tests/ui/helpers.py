"""Helpers for TUI tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from textual.pilot import Pilot

from kwaak.ui import KwaakApp
from kwaak.ui.chat_log import ChatLog
from kwaak.ui.messages import SystemEntry

SIZE = (140, 40)


def session_ids() -> Iterator[str]:
    """Deterministic session ids (distinct in their first 8 characters, which name branches)."""
    n = 0
    while True:
        n += 1
        yield f"{n:08d}-0000-4000-8000-000000000000"


async def wait_for(pilot: Pilot[Any], predicate: Callable[[], object], *, timeout: float = 20.0) -> None:
    """Let the app run until ``predicate()`` is true (fails the test after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            chats = [(c.name, c.status, c.pending, c.activity) for c in pilot.app.chats]  # type: ignore[attr-defined]
            raise AssertionError(f"timed out; chats: {chats}")
        await pilot.pause(0.05)
    await pilot.pause()


async def send(pilot: Pilot[Any], text: str) -> None:
    """Put ``text`` into the input and press ctrl-s."""
    app = pilot.app
    assert isinstance(app, KwaakApp)
    app.input.text = text
    await pilot.press("ctrl+s")


def system_texts(log: ChatLog) -> list[str]:
    """The texts of the system lines of a transcript, oldest first."""
    return [e.text for e in log.entries if isinstance(e, SystemEntry)]
