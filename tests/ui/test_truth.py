"""The TUI tells the truth at a glance: tool outcomes, provider retries and failures, interrupts,
attention badges and signals, the status bar, narrow layouts, pastes and unknown commands."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from textual import events
from textual.widgets import Static

from kwaak import protocol as p
from kwaak.config import Config
from kwaak.config.model import BackoffConfig
from kwaak.llm.base import Embedder, Model
from kwaak.llm.factory import make_embedder, make_model
from kwaak.llm.testing import ScriptedModel, Step, call
from kwaak.messages import Message, ToolSpec, UserMessage
from kwaak.ui import KwaakApp
from kwaak.ui.chrome import ChatList, ChatStrip, StatusBar
from kwaak.ui.logs import LogsView
from kwaak.ui.messages import SystemEntry, ToolCallEntry, UserEntry
from kwaak.ui.splash import SplashScreen
from tests.fakes.provider_server import FakeProviderServer, Fault, reply
from tests.ui.conftest import AppFactory
from tests.ui.helpers import SIZE, send, system_texts, wait_for

PYTEST_FAILING = "printf 'test_a.py .F.\\n=== 1 failed, 2 passed in 0.05s ===\\n'; exit 1"


def tools_of(app: KwaakApp) -> list[ToolCallEntry]:
    return app.current_log.tool_entries


@pytest.fixture
def chat_model(make_config: Callable[..., Config]) -> Callable[..., Model]:
    """The real OpenAI adapter for a ``base_url``, configured as from kwaak.toml."""

    def build(base_url: str, *, backoff: BackoffConfig | None = None) -> Model:
        query = {"provider": "OpenAI", "base_url": base_url, "api_key": "text:x", "prompt_model": "gpt-4o"}
        cfg = make_config(llm={"query": query})
        return make_model(cfg.llm.query, backoff=backoff or BackoffConfig(), timeout=10)

    return build


@pytest.fixture
def provider() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as server:
        yield server


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- tool outcomes ----------------------------------------------------------------------------


async def test_failed_command_shows_cross_exit_code_and_test_counts(make_app: AppFactory) -> None:
    steps = [call("shell_command", cmd="exit 3"), call("shell_command", cmd=PYTEST_FAILING), call("stop")]
    app, _ = make_app(ScriptedModel([*steps]))
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "run things")
        await wait_for(pilot, lambda: app.current_chat.status == "done" and not app.current_chat.busy)
        plain, tests = tools_of(app)
        assert (plain.state, plain.exit_code) == ("failed", 3)
        assert plain.line.plain.endswith("`exit 3` ✗ exit 3")
        assert (tests.state, tests.exit_code, tests.outcome) == ("failed", 1, "2 passed, 1 failed")
        assert tests.line.plain.endswith("✗ exit 1 (2 passed, 1 failed)")
        line = plain._line()
        assert any("red" in str(span.style) and "exit 3" in line.plain[span.start : span.end] for span in line.spans)


async def test_passing_test_run_shows_check_and_counts(make_app: AppFactory) -> None:
    passing = "printf '=== 5 passed in 0.01s ===\\n'"
    app, _ = make_app(ScriptedModel([call("shell_command", cmd=passing), call("stop")]))
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "run the tests")
        await wait_for(pilot, lambda: app.current_chat.status == "done" and not app.current_chat.busy)
        (tool,) = tools_of(app)
        assert tool.state == "ok" and tool.line.plain.endswith("✓ 5 passed")


async def test_ctrl_o_expands_the_last_tool_call_with_indented_output(make_app: AppFactory) -> None:
    steps = [call("shell_command", cmd="echo first-out"), call("shell_command", cmd="echo second-out"), call("stop")]
    app, _ = make_app(ScriptedModel([*steps]))
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "two commands")
        await wait_for(pilot, lambda: app.current_chat.status == "done" and not app.current_chat.busy)
        first, second = tools_of(app)
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert second.expanded and not first.expanded and app.input.has_focus
        lines = [line.text for line in second.render_lines(second.region.reset_offset)]
        output_line = next(line for line in lines if line.strip() == "second-out")
        assert output_line.startswith(" " * 7)  # indented under the tool line
        await pilot.press("ctrl+o")  # collapse again
        await pilot.press("alt+up", "alt+up")  # select the first tool call
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert first.expanded and not second.expanded and first.has_class("-selected")


# -- provider retries and failures ------------------------------------------------------------


async def test_rate_limit_retry_is_shown_inline_with_the_endpoint(
    make_app: AppFactory, provider: FakeProviderServer, chat_model: Callable[..., Model]
) -> None:
    provider.enqueue(Fault.http(429, "slow down", retry_after=0.4), reply("after the wait"))
    base_url = f"{provider.url}/v1"
    app, _ = make_app(chat_model(base_url, backoff=BackoffConfig(initial_interval_sec=0.2, max_elapsed_time_sec=5)))
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "hello")
        await wait_for(pilot, lambda: any("retrying in" in t for t in system_texts(app.current_log)))
        retry = next(e for e in app.current_log.entries if isinstance(e, SystemEntry) and "retrying" in e.text)
        assert retry.level == "warning"
        assert retry.text.startswith(f"{base_url}: rate limited, retrying in 0.4 s (1/")
        await wait_for(pilot, lambda: not app.current_chat.busy)
        assert app.current_chat.status != "failed"


async def test_refused_base_url_fails_fast_with_a_hint_naming_it(
    make_app: AppFactory, chat_model: Callable[..., Model]
) -> None:
    base_url = f"http://127.0.0.1:{closed_port()}/v1"
    app, _ = make_app(chat_model(base_url))  # default backoff: 15 s, 30 s, 60 s if it were retried
    async with app.run_test(size=SIZE) as pilot:
        started = time.monotonic()
        await send(pilot, "hello")
        await wait_for(pilot, lambda: app.current_chat.status == "failed" and not app.current_chat.busy, timeout=30)
        assert time.monotonic() - started < 10
        (error,) = [e for e in app.current_log.entries if isinstance(e, SystemEntry) and e.level == "error"]
        assert error.text == f"cannot connect to {base_url}: connection refused"
        assert error.hint is not None and base_url in error.hint and "OpenAI" not in error.text + error.hint
        assert not any("retrying" in t for t in system_texts(app.current_log))


# -- an unreachable embedding endpoint -------------------------------------------------------


def embedder_at(make_config: Callable[..., Config], base_url: str, backoff: BackoffConfig) -> Embedder:
    embedding = {"provider": "OpenAI", "base_url": base_url, "api_key": "text:x"}
    cfg = make_config(llm={"embedding": embedding})
    return make_embedder(cfg.llm.embedding, backoff=backoff, timeout=10)


async def test_unreachable_embedding_endpoint_opens_with_keyword_search_and_a_warning(
    make_app: AppFactory, make_config: Callable[..., Config]
) -> None:
    base_url = f"http://127.0.0.1:{closed_port()}/v1"
    app, _ = make_app(embedder=embedder_at(make_config, base_url, BackoffConfig()), skip_indexing=False)
    async with app.run_test(size=SIZE) as pilot:
        started = time.monotonic()
        await wait_for(pilot, lambda: not app.booting, timeout=30)
        assert time.monotonic() - started < 15
        await wait_for(pilot, lambda: any("Semantic code search is off" in t for t in system_texts(app.current_log)))
        warning = next(e for e in app.current_log.entries if isinstance(e, SystemEntry) and "Semantic" in e.text)
        assert warning.level == "warning" and base_url in warning.text and "connection refused" in warning.text
        assert warning.hint is not None and "/index_repository" in warning.hint


async def test_splash_shows_embedding_retries_and_esc_continues(
    make_app: AppFactory, make_config: Callable[..., Config], provider: FakeProviderServer
) -> None:
    provider.enqueue(*[Fault.http(503, "embeddings overloaded") for _ in range(4)])
    base_url = f"{provider.url}/v1"
    app, _ = make_app(embedder=embedder_at(make_config, base_url, BackoffConfig()), skip_indexing=False)
    async with app.run_test(size=SIZE) as pilot:
        splash = app.screen
        assert isinstance(splash, SplashScreen)
        message = splash.query_one("#splash-message", Static)
        await wait_for(pilot, lambda: "retrying in" in str(message.render()), timeout=30)
        assert str(message.render()).startswith(f"{base_url}: ")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.booting)
        assert not isinstance(app.screen, SplashScreen)
        assert "Indexing continues in the background" in system_texts(app.current_log)[-1]


# -- interrupting and /exec -------------------------------------------------------------------


@pytest.mark.parametrize("key", ["escape", "ctrl+c"])
async def test_esc_and_ctrl_c_interrupt_the_running_turn(make_app: AppFactory, key: str) -> None:
    app, _ = make_app(ScriptedModel([call("shell_command", cmd="sleep 30")]))
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "sleep a while")
        await wait_for(pilot, lambda: bool(tools_of(app)) and app.current_chat.status == "running")
        started = time.monotonic()
        await pilot.press(key)
        await wait_for(pilot, lambda: app.current_chat.status == "stopped" and not app.current_chat.busy, timeout=10)
        assert time.monotonic() - started < 6
        assert app.return_code is None  # not a quit
        assert "Agent stopped" in system_texts(app.current_log)


async def test_ctrl_c_with_text_clears_the_input_instead(make_app: AppFactory) -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.input.text = "half a thought"
        await pilot.press("ctrl+c")
        assert app.input.text == "" and app.return_code is None


async def _started_chat(pilot: Any, app: KwaakApp) -> None:
    await send(pilot, "hello")
    await wait_for(pilot, lambda: app.current_chat.status == "done" and not app.current_chat.busy)


async def test_exec_reports_the_real_exit_code(make_app: AppFactory) -> None:
    app, _ = make_app(ScriptedModel([Step(text="hi", tool_calls=(("stop", {}),))]))
    async with app.run_test(size=SIZE) as pilot:
        await _started_chat(pilot, app)
        await send(pilot, "/exec echo exec-out; exit 4")
        await wait_for(pilot, lambda: not app.current_chat.busy)
        *_, output, failure = [e for e in app.current_log.entries if isinstance(e, SystemEntry)]
        assert output.text == "exec-out"
        assert (failure.text, failure.level) == ("`echo exec-out; exit 4` exited with code 4", "error")
        await send(pilot, "/exec true")
        await wait_for(pilot, lambda: not app.current_chat.busy)
        assert system_texts(app.current_log)[-1] == "(no output)"


async def test_exec_can_be_stopped_with_esc(make_app: AppFactory) -> None:
    app, _ = make_app(ScriptedModel([Step(text="hi", tool_calls=(("stop", {}),))]))
    async with app.run_test(size=SIZE) as pilot:
        await _started_chat(pilot, app)
        await send(pilot, "/exec sleep 30")
        await wait_for(pilot, lambda: app.current_chat.activity == "running `sleep 30`")
        started = time.monotonic()
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.current_chat.busy, timeout=10)
        assert time.monotonic() - started < 6
        assert "Agent stopped" in system_texts(app.current_log)


# -- attention --------------------------------------------------------------------------------


async def test_background_chats_get_badges_bell_and_notification(make_app: AppFactory) -> None:
    gate = asyncio.Event()

    async def policy(messages: list[Message], tools: list[ToolSpec]) -> Step:
        task = next(m.content for m in messages if isinstance(m, UserMessage) and m.content in ("ok", "bad"))
        await gate.wait()
        if task == "bad":
            raise RuntimeError("the model crashed")
        return Step(text="finished", tool_calls=(("stop", {}),))

    options = {"bell": True, "notifications": "osc9", "environ": {"TERM": "xterm"}}
    app, _ = make_app(ScriptedModel(policy), app_options=options)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "ok")
        await pilot.press("ctrl+n")
        await send(pilot, "bad")
        await pilot.press("ctrl+n")  # watch a third chat while the two work
        await wait_for(pilot, lambda: all(c.status == "running" for c in app.chats[:2]))
        gate.set()
        await wait_for(pilot, lambda: not any(c.busy for c in app.chats))
        first, second, _ = app.chats
        assert (first.attention, second.attention) == ("finished", "failed")
        lines = str(app.query_one(ChatList).render()).splitlines()
        assert " done" in lines[0] and " failed" in lines[1]
        assert app.signals_sent.count("\a") == 2
        assert any(s.startswith("\x1b]9;kwaak: ") and "finished" in s for s in app.signals_sent)
        await pilot.press("tab")  # looking at the chat clears its badge
        assert first.attention is None and " done" not in str(app.query_one(ChatList).render()).splitlines()[0]


def test_notifications_are_wrapped_for_tmux_and_cleaned() -> None:
    from kwaak.ui.signals import clipboard_support, notification

    assert notification("off", "kwaak", "x", env={}) is None
    assert notification("osc777", "kwaak", "a;b\x07c", env={}) == "\x1b]777;notify;kwaak;a,b c\x07"
    wrapped = notification("osc9", "kwaak", "done", env={"TMUX": "/tmp/tmux-1/default,1,0"})
    assert wrapped == "\x1bPtmux;\x1b\x1b]9;kwaak: done\x07\x1b\\"
    assert clipboard_support({"TERM_PROGRAM": "WezTerm"}) and not clipboard_support({"TERM": "xterm", "TMUX": "x"})


async def test_approval_wait_raises_attention(make_app: AppFactory) -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        sid = app.current_chat.session_id
        await pilot.press("ctrl+n")
        for msg in (p.StatusChanged(status="running"), p.StatusChanged(status="awaiting_approval")):
            app.bridge.receive(p.Event(session_id=sid, msg=msg))
        await wait_for(pilot, lambda: app.chats[0].attention == "approval")
        assert "approve?" in str(app.query_one(ChatList).render()).splitlines()[0]


# -- status bar, help, layout -----------------------------------------------------------------


async def test_status_bar_shows_model_branch_cost_and_short_id(make_app: AppFactory) -> None:
    app, _ = make_app(ScriptedModel([Step(text="hi", tool_calls=(("stop", {}),))]))
    async with app.run_test(size=SIZE) as pilot:
        await _started_chat(pilot, app)
        status = str(app.query_one(StatusBar).render())
        assert "model: scripted" in status and "branch: kwaak/fix-the-calculator-00000001" in status
        assert "cost: $0.0000" in status and "id: 00000001" in status
        app.current_chat.context = "12.0k 9%"  # the slot the context meter fills
        assert "context: 12.0k 9%" in str(app.query_one(StatusBar).render())


async def test_help_has_a_legend_of_chat_states(make_app: AppFactory) -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "/help")
        await pilot.pause()
        text = system_texts(app.current_log)[-1]
        assert "Chat list:" in text and "waiting for your /approve or /deny" in text and "**Esc**" in text


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_narrow_terminals_collapse_the_sidebar(make_app: AppFactory, size: tuple[int, int]) -> None:
    app, _ = make_app(ScriptedModel([call("shell_command", cmd="exit 2"), call("stop")]))
    async with app.run_test(size=size) as pilot:
        assert not app.sidebar_shown and app.query_one(ChatStrip).display
        await send(pilot, "fail once")
        await wait_for(pilot, lambda: app.current_chat.status == "done" and not app.current_chat.busy)
        log = app.current_log
        assert log.region.width >= size[0] - 2 and log.region.height >= size[1] - 12
        (tool,) = tools_of(app)
        assert "✗ exit 2" in tool.line.plain
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert app.sidebar_shown and app.query_one(ChatList).region.width > 0
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert not app.sidebar_shown


async def test_wide_terminal_keeps_the_sidebar(make_app: AppFactory) -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.sidebar_shown and not app.query_one(ChatStrip).display


# -- pastes and unknown commands --------------------------------------------------------------


async def test_long_paste_is_collapsed_in_the_transcript_but_sent_in_full(make_app: AppFactory) -> None:
    seen: list[str] = []

    def policy(messages: list[Message], tools: list[ToolSpec]) -> Step:
        seen.extend(m.content for m in messages if isinstance(m, UserMessage))
        return Step(text="read it", tool_calls=(("stop", {}),))

    app, _ = make_app(ScriptedModel(policy))
    pasted = "\n".join(f"line {n}" for n in range(400))
    async with app.run_test(size=SIZE) as pilot:
        app.input.text = "look at this: "
        app.input.move_cursor(app.input.document.end)
        app.post_message(events.Paste(pasted))
        await pilot.pause()
        assert app.input.text == "look at this: [pasted 400 lines #1]"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.current_chat.status == "done" and not app.current_chat.busy)
        (user,) = [e for e in app.current_log.entries if isinstance(e, UserEntry)]
        assert user.shown == "look at this: [pasted 400 lines]"
        assert user.text == f"look at this: {pasted}" and user.text in seen


async def test_short_paste_stays_as_typed(make_app: AppFactory) -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.post_message(events.Paste("two\nlines"))
        await pilot.pause()
        assert app.input.text == "two\nlines"


@pytest.mark.parametrize(
    ("typed", "message", "hint"),
    [
        ("/hlep", "Unknown command `/hlep`", "did you mean /help? (type /help to list the commands)"),
        ("/stat", "Unknown command `/stat`", "did you mean /stats? (type /help to list the commands)"),
        ("/zzzz", "Unknown command `/zzzz`", "type /help to list the commands"),
        (
            "/diff push",
            "`/diff push` is not a valid use of /diff",
            "/diff show - Shows the diff in the chat; /diff pull - Pulls the diff into a new branch",
        ),
    ],
)
async def test_unknown_command_is_named_kept_and_a_near_one_suggested(
    make_app: AppFactory, typed: str, message: str, hint: str
) -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, typed)
        await pilot.pause()
        last = app.current_log.entries[-1]
        assert isinstance(last, SystemEntry) and (last.text, last.hint, last.level) == (message, hint, "warning")
        assert app.input.text == typed


async def test_logs_legend_says_what_is_really_captured(make_app: AppFactory) -> None:
    app, _ = make_app()
    kwaak_logger = logging.getLogger("kwaak")
    previous = kwaak_logger.level
    kwaak_logger.setLevel(logging.WARNING)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f2")
            view = app.query_one(LogsView)
            assert view.legend().startswith("showing ≥ INFO (←/→), but kwaak logs only ≥ WARNING")
            await pilot.press("plus")
            assert view.legend().startswith("showing ≥ INFO (←/→)   capturing kwaak ≥ INFO")
    finally:
        kwaak_logger.setLevel(previous)


async def test_internal_error_hint_names_the_log_file(make_app: AppFactory, tmp_path: Any) -> None:
    from kwaak.logs import log_file_hint, setup_logging

    root, kwaak_logger = logging.getLogger(), logging.getLogger("kwaak")
    handlers, levels = list(root.handlers), (root.level, kwaak_logger.level)
    path = setup_logging(tmp_path, "proj", spec="error")
    try:
        assert log_file_hint() == f"see the log file {path}"
    finally:
        root.setLevel(levels[0])
        kwaak_logger.setLevel(levels[1])
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()


async def test_chat_strip_selects_the_clicked_chat(make_app: AppFactory) -> None:
    app, _ = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+n")
        assert app.current == 1
        await pilot.click(ChatStrip, offset=(2, 0))
        await pilot.pause()
        assert app.current == 0
