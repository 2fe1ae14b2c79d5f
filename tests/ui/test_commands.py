"""Slash commands: parsing and completion (pure), and what each does in the running app."""

from __future__ import annotations

import pytest

from kwaak import protocol as p
from kwaak.llm.testing import ScriptedModel, Step
from kwaak.ui import commands
from kwaak.ui.commands import Parsed
from kwaak.ui.composer import CommandMenu
from kwaak.ui.messages import CommandEntry, SystemEntry
from kwaak.ui.sessions_picker import SessionsScreen
from tests.ui.conftest import AppFactory
from tests.ui.helpers import SIZE, send, system_texts, wait_for


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("/diff", Parsed("diff show", op=p.ShowDiff())),
        ("/diff show", Parsed("diff show", op=p.ShowDiff())),
        ("/diff pull", Parsed("diff pull", op=p.PullDiff())),
        ("/diff push", None),
        ("/gh fix 12", Parsed("github fix 12", op=p.GithubFix(number=12))),
        ("/github fix #7", Parsed("github fix 7", op=p.GithubFix(number=7))),
        ("/github fix", None),
        ("/github close 3", None),
        ("/exec ls -la  ", Parsed("exec ls -la", op=p.Exec(cmd="ls -la"))),
        ("/exec", None),
        ("/retry", Parsed("retry", op=p.RetryChat())),
        ("/stop", Parsed("stop", op=p.StopAgent())),
        ("/delete_chat", Parsed("delete_chat", op=p.DeleteSession(), local="delete_chat")),
        ("/help", Parsed("help", local="help")),
        ("/help me", None),
        ("/frobnicate", None),
    ],
)
def test_parse(typed: str, expected: Parsed | None) -> None:
    assert commands.parse(typed) == expected


def test_complete_lists_matching_commands_until_a_space() -> None:
    assert [d.name for d in commands.complete("/d")] == ["delete_chat", "deny", "diff"]
    assert len(commands.complete("/")) == len(commands.COMMANDS)
    assert commands.complete("/diff ") == []
    assert commands.complete("hello") == []


def test_help_text_lists_every_command_alphabetically() -> None:
    text = commands.help_text()
    names = [line.split("**")[1] for line in text.splitlines() if line.startswith("- **/")]
    assert names == sorted(f"/{d.name}" for d in commands.COMMANDS)
    assert "/github fix [number] - Fetch, analyze, and fix a github issue" in text
    assert text.endswith("we're happy to help!")


async def test_unknown_command_and_help(make_app: AppFactory) -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "/frobnicate")
        await pilot.pause()
        last = app.current_log.entries[-1]
        assert isinstance(last, SystemEntry) and (last.text, last.hint) == (
            "Unknown command `/frobnicate`",
            "type /help to list the commands",
        )
        assert app.input.text == "/frobnicate"  # kept, to fix it
        app.input.clear()
        await send(pilot, "/help")
        await pilot.pause()
        *_, command, help_entry = app.current_log.entries
        assert isinstance(command, CommandEntry) and command.label == "help"
        assert isinstance(help_entry, SystemEntry) and help_entry.markdown and "/show_config" in help_entry.text


async def test_completion_menu_completes_with_tab_then_runs_show_config(make_app: AppFactory) -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", "s", "h")
        menu = app.query_one(CommandMenu)
        assert menu.display and menu.chosen == "show_config"
        await pilot.press("tab")
        assert app.input.text == "/show_config " and not menu.display
        assert app.current_chat is app.chats[0]  # tab completed instead of switching chats
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: any("project_name" in t for t in system_texts(app.current_log)))
        await wait_for(pilot, lambda: not app.current_chat.busy)
        assert system_texts(app.current_log)[-1].startswith('project_name = "testproject"')  # no noise after it


async def test_copy_new_next_and_delete_chats(make_app: AppFactory) -> None:
    answer = ScriptedModel([Step(text="the answer", tool_calls=(("stop", {}),))])
    app, _ = make_app(answer, app_options={"environ": {"TERM_PROGRAM": "WezTerm"}})  # OSC 52 works there
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "/copy")
        await pilot.pause()
        assert system_texts(app.current_log)[-1] == "No message to copy"
        await send(pilot, "question")
        await wait_for(pilot, lambda: app.current_chat.status == "done" and not app.current_chat.busy)
        await send(pilot, "/copy")
        await pilot.pause()
        assert system_texts(app.current_log)[-1] == "Copied the last message to the clipboard"
        assert app.clipboard == "the answer"

        await send(pilot, "/new_chat")
        await pilot.pause()
        assert [c.name for c in app.chats] == ["Fix the calculator", "Chat #2"] and app.current == 1
        await send(pilot, "/next_chat")
        await pilot.pause()
        assert app.current == 0
        await send(pilot, "/delete_chat")
        await pilot.pause()
        assert [c.name for c in app.chats] == ["Chat #2"]
        await send(pilot, "/delete_chat")
        await pilot.pause()
        assert [c.name for c in app.chats] == ["Chat #1"] and app.current_chat.session_id.startswith("00000003")
        assert system_texts(app.current_log) == ["Nice, you managed to delete the last chat!"]


async def test_stats_sessions_and_exec_without_agent(make_app: AppFactory) -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "/exec ls")
        await wait_for(pilot, lambda: not app.current_chat.busy and len(system_texts(app.current_log)) > 1)
        failure = app.current_log.entries[-1]
        assert isinstance(failure, SystemEntry) and failure.level == "error"
        assert failure.text == "No agent found (yet), is it starting up?"
        await send(pilot, "/stats")
        await wait_for(pilot, lambda: any(t.startswith("Team:") for t in system_texts(app.current_log)))
        await send(pilot, "/sessions")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen) and app.screen.loaded)
        assert isinstance(app.screen, SessionsScreen)
        assert app.screen.sessions == [] and "No saved sessions" in app.screen.help_text
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, SessionsScreen))


async def test_slash_quit_exits_cleanly(make_app: AppFactory) -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "/quit")
        await wait_for(pilot, lambda: app.return_code is not None, timeout=10)
    assert app.return_code == 0


def test_approve_and_deny_answer_the_pending_command() -> None:
    approve, deny = commands.parse("/approve"), commands.parse("/deny")
    assert approve is not None and approve.op == p.ApproveCommand(call_id="", approved=True)
    assert deny is not None and deny.op == p.ApproveCommand(call_id="", approved=False)
