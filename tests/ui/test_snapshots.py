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
from textual import events
from textual.pilot import Pilot

from kwaak import protocol as p
from kwaak.errors import Transient
from kwaak.llm.testing import ScriptedModel, Step, call
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


def _inject(app: KwaakApp, session_id: str, *msgs: p.EventMsg) -> None:
    for msg in msgs:
        app.bridge.receive(p.Event(session_id=session_id, msg=msg))


def _failing_run() -> ScriptedModel:
    failing_tests = "printf 'test_calc.py .F.\\n=== 1 failed, 2 passed in 0.05s ===\\n'; exit 1"
    return ScriptedModel(
        [
            call("shell_command", cmd="exit 3"),
            call("shell_command", cmd=failing_tests),
            Step(text="The tests fail: `test_add` expects 4.", tool_calls=(("stop", {}),)),
        ]
    )


async def _run_failing(pilot: Pilot[Any]) -> KwaakApp:
    app = await _settle(pilot)
    await send(pilot, "run the tests")
    await wait_for(pilot, lambda: app.current_chat.status == "done" and not app.current_chat.busy)
    return app


def test_failed_tools_show_exit_code_and_counts(snap_compare: SnapCompare, make_sync_app: AppFactory) -> None:
    """✗ and the exit code in red, test counts, ctrl-o output indented, status bar with the model."""
    app, _ = make_sync_app(_failing_run())

    async def steps(pilot: Pilot[Any]) -> None:
        await _run_failing(pilot)
        await pilot.press("ctrl+o")

    assert snap_compare(app, terminal_size=SIZE, run_before=_run(steps))


@pytest.mark.parametrize("size", [(80, 24), (60, 20)], ids=["80x24", "60x20"])
def test_narrow_terminal_collapses_the_sidebar(
    snap_compare: SnapCompare, make_sync_app: AppFactory, size: tuple[int, int]
) -> None:
    app, _ = make_sync_app(_failing_run())

    async def steps(pilot: Pilot[Any]) -> None:
        await _run_failing(pilot)

    assert snap_compare(app, terminal_size=size, run_before=_run(steps))


def test_provider_retry_and_unreachable_endpoint(snap_compare: SnapCompare, make_sync_app: AppFactory) -> None:
    app, _ = make_sync_app()
    url = "http://127.0.0.1:8000/v1"

    async def steps(pilot: Pilot[Any]) -> None:
        app = await _settle(pilot)
        sid = app.current_chat.session_id
        _inject(
            app,
            sid,
            p.UserMessage(text="hello"),
            p.ProviderRetry(endpoint=url, reason="rate limited", wait_seconds=31, attempt=2, max_attempts=6),
            p.CommandCompleted(
                command="chat",
                ok=False,
                seconds=1.2,
                error=f"cannot connect to {url}: connection refused",
                error_kind="unreachable",
                hint=f"is the server at `base_url` {url} running and reachable? (check `base_url` in kwaak.toml)",
            ),
        )
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=SIZE, run_before=_run(steps))


def test_attention_badges_in_the_chat_list(snap_compare: SnapCompare, make_sync_app: AppFactory) -> None:
    app, _ = make_sync_app()

    async def steps(pilot: Pilot[Any]) -> None:
        app = await _settle(pilot)
        for _ in range(3):
            await pilot.press("ctrl+n")
        titles = ["Fix the parser", "Add tests", "Clean up CI"]
        for chat, title, status in zip(app.chats[:3], titles, ["done", "failed", "awaiting_approval"], strict=True):
            _inject(
                app,
                chat.session_id,
                p.SessionRenamed(title=title),
                p.StatusChanged(status="running"),
                p.StatusChanged(status=status),  # type: ignore[arg-type]
            )
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=SIZE, run_before=_run(steps))


def test_quit_asks_while_agents_work(snap_compare: SnapCompare, make_sync_app: AppFactory) -> None:
    async def thinking_forever(messages: list[Message], tools: list[ToolSpec]) -> Step:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    app, _ = make_sync_app(ScriptedModel(thinking_forever))

    async def steps(pilot: Pilot[Any]) -> None:
        app = await _settle(pilot)
        await send(pilot, "fix the calculator")
        await wait_for(pilot, lambda: app.current_chat.activity == "running completions")
        await pilot.press("ctrl+q")

    assert snap_compare(app, terminal_size=SIZE, run_before=_run(steps))


def test_paste_collapsed_and_unknown_command(snap_compare: SnapCompare, make_sync_app: AppFactory) -> None:
    app, _ = make_sync_app(ScriptedModel([Step(text="Read all 400 lines.", tool_calls=(("stop", {}),))]))

    async def steps(pilot: Pilot[Any]) -> None:
        app = await _settle(pilot)
        app.input.text = "why does this fail? "
        app.input.move_cursor(app.input.document.end)
        app.post_message(events.Paste("\n".join(f"Traceback line {n}" for n in range(400))))
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.current_chat.status == "done" and not app.current_chat.busy)
        await send(pilot, "/stat")

    assert snap_compare(app, terminal_size=SIZE, run_before=_run(steps))


def test_esc_interrupts_the_running_turn(snap_compare: SnapCompare, make_sync_app: AppFactory) -> None:
    app, _ = make_sync_app(ScriptedModel([call("shell_command", cmd="sleep 30")]))

    async def steps(pilot: Pilot[Any]) -> None:
        app = await _settle(pilot)
        await send(pilot, "sleep a while")
        await wait_for(pilot, lambda: bool(app.current_log.tool_entries) and app.current_chat.status == "running")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.current_chat.status == "stopped" and not app.current_chat.busy)

    assert snap_compare(app, terminal_size=SIZE, run_before=_run(steps))
