"""SVG snapshots of each screen (update with ``pytest tests/ui --snapshot-update``).

Content is deterministic: fixed session ids and version, animations off (spinners and progress
bars hold still), no cursor blink, log records with fixed times in UTC.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from textual.pilot import Pilot

from kwaak import protocol as p
from kwaak.errors import Transient
from kwaak.llm.testing import ScriptedModel, Step
from kwaak.messages import Message, ToolSpec
from kwaak.ui import KwaakApp
from kwaak.ui.logs import UILogHandler
from tests.ui.conftest import AppFactory
from tests.ui.helpers import SIZE, send, wait_for

SnapCompare = Callable[..., bool]


def _app(pilot: Pilot[Any]) -> KwaakApp:
    app = pilot.app
    assert isinstance(app, KwaakApp)
    return app


async def _settle(pilot: Pilot[Any]) -> KwaakApp:
    app = _app(pilot)
    app.animation_level = "none"
    app.input.cursor_blink = False
    await wait_for(pilot, lambda: app.bridge.connected)
    return app


def _run(steps: Callable[[Pilot[Any]], Awaitable[None]]) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run_before(pilot: Pilot[Any]) -> None:
        await steps(pilot)
        await pilot.pause(0.2)

    return run_before


@pytest.fixture
def utc() -> Iterator[None]:
    """Format log times in UTC."""
    mp = pytest.MonkeyPatch()
    mp.setenv("TZ", "UTC")
    time.tzset()
    yield
    mp.undo()
    time.tzset()


def test_main_screen_idle(snap_compare: SnapCompare, make_sync_app: AppFactory) -> None:
    app, _ = make_sync_app()

    async def steps(pilot: Pilot[Any]) -> None:
        await _settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=_run(steps))


def test_help_message(snap_compare: SnapCompare, make_sync_app: AppFactory) -> None:
    app, _ = make_sync_app()

    async def steps(pilot: Pilot[Any]) -> None:
        await _settle(pilot)
        await send(pilot, "/help")

    assert snap_compare(app, terminal_size=SIZE, run_before=_run(steps))


def test_error_with_hint(snap_compare: SnapCompare, make_sync_app: AppFactory) -> None:
    failing = Step(error=Transient("the provider is overloaded", hint="wait a minute, then /retry"))
    app, _ = make_sync_app(ScriptedModel([failing]))

    async def steps(pilot: Pilot[Any]) -> None:
        app = await _settle(pilot)
        await send(pilot, "fix the calculator")
        await wait_for(pilot, lambda: app.current_chat.status == "failed" and not app.current_chat.busy)

    assert snap_compare(app, terminal_size=SIZE, run_before=_run(steps))


def test_two_agents_running(snap_compare: SnapCompare, make_sync_app: AppFactory) -> None:
    async def thinking_forever(messages: list[Message], tools: list[ToolSpec]) -> Step:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    app, _ = make_sync_app(ScriptedModel(thinking_forever))

    async def steps(pilot: Pilot[Any]) -> None:
        app = await _settle(pilot)
        await send(pilot, "fix the calculator")
        await pilot.press("ctrl+n")
        await send(pilot, "write more tests")
        await wait_for(pilot, lambda: all(c.activity == "running completions" for c in app.chats))

    assert snap_compare(app, terminal_size=SIZE, run_before=_run(steps))


def test_logs_tab(snap_compare: SnapCompare, make_sync_app: AppFactory, utc: None) -> None:
    app, _ = make_sync_app()
    handler = app.log_handler
    assert isinstance(handler, UILogHandler)
    for seconds, level, name, message in [
        (0, logging.INFO, "kwaak.backend", "session 00000001 started"),
        (1, logging.WARNING, "kwaak.executors", "docker is not available; falling back to local"),
        (2, logging.ERROR, "kwaak.llm", "provider returned 503"),
    ]:
        record = logging.LogRecord(name, level, __file__, 1, message, None, None)
        record.created = 1_700_000_000 + seconds
        handler.emit(record)

    async def steps(pilot: Pilot[Any]) -> None:
        await _settle(pilot)
        await pilot.press("f2")

    assert snap_compare(app, terminal_size=SIZE, run_before=_run(steps))


def test_splash_with_index_progress(snap_compare: SnapCompare, make_sync_app: AppFactory) -> None:
    async def still_starting() -> Any:
        await asyncio.Event().wait()

    app, _ = make_sync_app(skip_indexing=False, connect=still_starting)

    async def steps(pilot: Pilot[Any]) -> None:
        app = _app(pilot)
        app.animation_level = "none"
        progress = p.IndexProgress(done=3, total=10, message="Indexing a bit of code 3/10")
        app.bridge.receive(p.Event(session_id=p.SYSTEM_SESSION, msg=progress))

    assert snap_compare(app, terminal_size=SIZE, run_before=_run(steps))
