"""SVG snapshot of the ``/sessions`` picker (update with ``pytest tests/ui --snapshot-update``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from kwaak import protocol as p
from kwaak.ui import KwaakApp
from kwaak.ui.sessions_picker import SessionsScreen
from tests.ui.conftest import AppFactory
from tests.ui.helpers import SIZE, send, wait_for

NOW = 1_800_000_000.0
ROWS = (
    p.StoredSession(
        session_id="11111111-aaaa",
        title="Add retries to the HTTP client",
        origin="tui",
        status="done",
        branch="kwaak/add-retries-11111111",
        updated_at=NOW - 3 * 86400,
        tokens=48_200,
        cost_usd=0.1234,
        open_here=True,
    ),
    p.StoredSession(
        session_id="22222222-bbbb",
        title="Fix the flaky test",
        origin="run-agent",
        status="interrupted",
        branch="kwaak/fix-flaky-22222222",
        updated_at=NOW - 2 * 3600,
        tokens=9_100,
        cost_usd=0.0211,
    ),
    p.StoredSession(
        session_id="33333333-cccc",
        title="Document the CLI",
        origin="batch",
        status="running",
        branch="kwaak/document-cli-33333333",
        updated_at=NOW - 40,
        tokens=1_500,
        cost_usd=0.004,
        owner_pid=4242,
    ),
    p.StoredSession(
        session_id="55555555-eeee",
        title="[bold red]model title[/\x1b[2J",
        origin="tui",
        status="idle",
        branch="kwaak/[x]-55555555",
        updated_at=NOW - 5 * 86400,
    ),
    p.StoredSession(
        session_id="44444444-dddd",
        title=None,
        origin="-",
        status="damaged",
        branch=None,
        updated_at=0.0,
        problem="/cache/sessions/repo-0123/44444444-dddd/meta.json is damaged (not JSON)",
    ),
)


def test_sessions_picker(snap_compare: Callable[..., bool], make_sync_app: AppFactory) -> None:
    app, _ = make_sync_app()

    async def run_before(pilot: Pilot[Any]) -> None:
        kwaak = pilot.app
        assert isinstance(kwaak, KwaakApp)
        kwaak.animation_level = "none"
        kwaak.input.cursor_blink = False
        await wait_for(pilot, lambda: kwaak.bridge.connected)
        await send(pilot, "/sessions")
        await wait_for(pilot, lambda: isinstance(kwaak.screen, SessionsScreen) and kwaak.screen.loaded)
        assert isinstance(kwaak.screen, SessionsScreen)
        kwaak.screen.show(ROWS, now=NOW)
        await pilot.press("down")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
