"""The view: logs tab, transcript cap and auto-tail, splash screen, and batched event rendering."""

from __future__ import annotations

import logging

from textual.strip import Strip
from textual.widgets import ContentSwitcher, RichLog

from kwaak import protocol as p
from kwaak.llm.testing import ScriptedModel
from kwaak.ui.chrome import ChatList, StatusBar
from kwaak.ui.messages import AssistantEntry, ToolCallEntry, color_diff
from kwaak.ui.splash import SplashScreen
from tests.ui.conftest import AppFactory
from tests.ui.helpers import SIZE, send, system_texts, wait_for


def _lines(log: RichLog) -> list[str]:
    return [Strip(line).text if not isinstance(line, Strip) else line.text for line in log.lines]


async def test_logs_tab_shows_records_and_filters_levels(make_app: AppFactory) -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        assert app.query_one("#modes", ContentSwitcher).current == "logs-mode"
        logging.getLogger("kwaak.tests").warning("careful: %s", "disk almost full")
        logging.getLogger("kwaak.tests").error("it broke")
        view = app.query_one("#log-view", RichLog)
        await wait_for(pilot, lambda: len(_lines(view)) >= 2)
        text = "\n".join(_lines(view))
        assert "WARN kwaak.tests: careful: disk almost full" in text and "ERR! kwaak.tests: it broke" in text
        await pilot.press("left", "left")  # show ≥ ERROR only
        await pilot.pause()
        assert [line for line in _lines(view) if "kwaak.tests" in line] == [_lines(view)[-1]]
        assert "it broke" in _lines(view)[-1]
        await pilot.press("f1")
        assert app.query_one("#modes", ContentSwitcher).current == "chats-mode"
        assert app.focused is app.input


async def test_transcript_keeps_only_the_newest_entries_mounted(make_app: AppFactory) -> None:
    app, _ = make_app(max_entries=5)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(6):
            await send(pilot, "/help")
        await pilot.pause()
        log = app.current_log
        assert len(log.entries) == 5
        assert log.trimmed == 8  # welcome + 6 × (command, help) = 13 entries
        assert "8 earlier messages" in str(log.children[0].render())


async def test_auto_tail_stops_on_page_up_and_resumes_with_end(make_app: AppFactory) -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(3):
            await send(pilot, "/help")
        await pilot.pause()
        log = app.current_log
        assert log.max_scroll_y > 0 and log.scroll_y == log.max_scroll_y
        await pilot.press("pageup")
        await pilot.pause()
        assert log.scroll_y < log.max_scroll_y
        position = log.scroll_y
        news = p.Event(session_id=app.current_chat.session_id, msg=p.SystemMessage(text="news\n" * 5))
        app.bridge.receive(news)
        await pilot.pause(0.1)
        assert log.scroll_y == position  # not dragged down while reading
        await pilot.press("end")  # the input is empty: End scrolls the transcript
        await pilot.pause()
        assert log.scroll_y == log.max_scroll_y
        app.bridge.receive(news)
        await pilot.pause(0.1)
        assert log.scroll_y == log.max_scroll_y
        await send(pilot, "/help")  # sending always jumps to the newest message
        await pilot.pause()
        assert log.scroll_y == log.max_scroll_y


async def test_splash_shows_until_indexing_completes(make_app: AppFactory) -> None:
    app, _ = make_app(skip_indexing=False)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, SplashScreen)
        await pilot.press("ctrl+n")  # chat keys wait for the main screen
        assert len(app.chats) == 1
        await wait_for(pilot, lambda: not isinstance(app.screen, SplashScreen), timeout=60)
        assert not app.booting and app.focused is app.input
        errors = [t for t in system_texts(app.current_log) if "Indexing" in t]
        assert errors == []


async def test_events_for_many_agents_render_in_batches(make_app: AppFactory) -> None:
    app, _ = make_app(ScriptedModel())
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(3):
            await pilot.press("ctrl+n")
        await pilot.pause(0.2)
        batches, events = app.batches_applied, app.events_applied
        for chat in app.chats:
            for i in range(200):
                app.bridge.receive(
                    p.Event(session_id=chat.session_id, msg=p.AssistantDelta(message_id="m", text=f"{i} "))
                )

        def streamed(chat: object) -> str:
            entries = [e for e in app.chat_log(chat.session_id).entries if isinstance(e, AssistantEntry)]  # type: ignore[attr-defined]
            return entries[0].text if len(entries) == 1 else ""

        await wait_for(pilot, lambda: all(streamed(chat).endswith("199 ") for chat in app.chats))
        assert app.batches_applied - batches <= 2
        # The 800 fragments were merged per message before rendering: a few widget updates, not 800.
        assert app.events_applied - events <= 8
        for chat in app.chats:
            assert streamed(chat) == "".join(f"{i} " for i in range(200))
        assert app.chats[0].unread == 0  # deltas are not messages yet


async def test_chat_list_and_status_bar_render_state(make_app: AppFactory) -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        sid = app.current_chat.session_id
        await pilot.press("ctrl+n")
        events = [
            p.StatusChanged(status="failed", reason="boom"),
            p.SessionRenamed(title="A very long title that will surely be cut in the list"),
            p.BranchRenamed(branch="kwaak/long-title-00000001"),
            p.SystemMessage(text="hello"),
            p.UsageUpdated(
                session=p.UsageInfo(input_tokens=1500, output_tokens=20, cost_usd=0.0123),
                team=p.UsageInfo(input_tokens=2_500_000, output_tokens=3000, cost_usd=1.5),
            ),
            p.ToolCallStarted(call_id="c1", name="shell_command", summary="running shell command `ls`"),
        ]
        for msg in events:
            app.bridge.receive(p.Event(session_id=sid, msg=msg))
        await wait_for(pilot, lambda: app.chats[0].unread == 1)
        lines = str(app.query_one(ChatList).render()).splitlines()
        assert lines[0].startswith("✗ A very long title") and lines[0].endswith("… ●1")
        assert lines[1].rstrip() == "○ Chat #2"
        await pilot.press("tab")
        status = str(app.query_one(StatusBar).render())
        assert "branch: kwaak/long-title-00000001" in status and "id: 00000001" in status
        assert "cost: $0.0123" in status and "tokens: 1.5k↑ 20↓" in status and "team: 2.5M↑ 3.0k↓ $1.5000" in status
        tool = [e for e in app.current_log.entries if isinstance(e, ToolCallEntry)]
        assert [t.state for t in tool] == ["running"]


def test_color_diff_styles_lines() -> None:
    text = color_diff("diff --git a/x b/x\n@@ -1 +1 @@\n-old\n+new\n context")
    styles = [str(span.style) for span in text.spans]
    assert styles == ["bold", "cyan", "red", "green"]
    assert text.plain.splitlines()[-1] == " context"


async def test_hidden_chats_render_their_events_when_shown(make_app: AppFactory) -> None:
    app, _ = make_app(ScriptedModel())
    async with app.run_test(size=SIZE) as pilot:
        hidden = app.current_chat.session_id
        await pilot.press("ctrl+n")
        await pilot.pause(0.1)
        for i in range(50):
            app.bridge.receive(p.Event(session_id=hidden, msg=p.AssistantDelta(message_id="m", text=f"{i} ")))
        app.bridge.receive(p.Event(session_id=hidden, msg=p.SystemMessage(text="done streaming")))
        await pilot.pause(0.3)
        deck = app._deck
        assert [type(m).__name__ for m in deck._deferred[hidden]] == ["AssistantDelta", "SystemMessage"]
        assert app.chats[0].unread == 1  # the chat list still counts it
        await pilot.press("tab")
        await pilot.pause(0.2)
        assert hidden not in deck._deferred
        entries = app.chat_log(hidden).entries
        assert any(isinstance(e, AssistantEntry) and e.text == "".join(f"{i} " for i in range(50)) for e in entries)


async def test_arrow_keys_scroll_the_chat_only_when_the_input_is_empty(make_app: AppFactory) -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(3):
            await send(pilot, "/help")
        await pilot.pause()
        log = app.current_log
        bottom = log.max_scroll_y
        assert bottom > 0 and log.scroll_y == bottom
        await pilot.press("up", "up")
        await pilot.pause()
        assert log.scroll_y == bottom - 4
        await pilot.press("down")
        await pilot.pause()
        assert log.scroll_y == bottom - 2
        await pilot.press("a", "enter", "b", "up")  # with text, ↑ moves the cursor, not the chat
        await pilot.pause()
        assert log.scroll_y == bottom - 2
        assert app.input.cursor_location == (0, 1)
