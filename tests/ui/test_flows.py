"""Pilot tests: real flows through the TUI against a real backend with a scripted model."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kwaak.commands.tui_cmd import build_app
from kwaak.config import Config
from kwaak.errors import Transient
from kwaak.llm.testing import ScriptedModel, Step, call
from kwaak.ui import KwaakApp
from kwaak.ui.dialogs import ConfirmQuit
from kwaak.ui.messages import AssistantEntry, CommandEntry, DiffEntry, SystemEntry, ToolCallEntry, UserEntry
from tests.conftest import git
from tests.ui.conftest import AppFactory
from tests.ui.helpers import SIZE, send, system_texts, wait_for

WRITE_HELLO = Step(
    text="Let me write it.", tool_calls=(("write_file", {"file_name": "hello.txt", "content": "world\n"}),)
)


async def test_task_shows_tool_lines_and_the_answer(make_app: AppFactory) -> None:
    model = ScriptedModel([WRITE_HELLO, Step(text="All done, **hello.txt** is written.", tool_calls=(("stop", {}),))])
    app, _ = make_app(model)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "write hello")
        log = app.current_log
        await wait_for(pilot, lambda: not app.current_chat.busy and app.current_chat.status == "done")
        assert [e.text for e in log.entries if isinstance(e, UserEntry)] == ["write hello"]
        tools = [e for e in log.entries if isinstance(e, ToolCallEntry)]
        assert [(t.tool_name, t.summary, t.state) for t in tools] == [("write_file", "writing file `hello.txt`", "ok")]
        replies = [e.text for e in log.entries if isinstance(e, AssistantEntry)]
        assert replies == ["Let me write it.", "All done, **hello.txt** is written."]
        assert not any(t.startswith("Command ") for t in system_texts(log))  # no internal op names
        assert app.current_chat.name == "Fix the calculator"
        assert (app.current_chat.branch or "").startswith("kwaak/fix-the-calculator-")
        assert app.current_chat.usage.input_tokens > 0


async def test_tool_line_expands_to_show_arguments_and_output(make_app: AppFactory) -> None:
    app, _ = make_app(ScriptedModel([call("shell_command", cmd="echo expanded-output"), call("stop")]))
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "run echo")
        await wait_for(pilot, lambda: app.current_chat.status == "done")
        (tool,) = [e for e in app.current_log.entries if isinstance(e, ToolCallEntry)]
        assert tool.state == "ok" and "expanded-output" in tool.output
        height = tool.region.height
        await pilot.click(tool)
        await pilot.pause()
        assert tool.expanded and tool.region.height > height
        await pilot.press("enter")  # the clicked line has focus; Enter collapses it
        await pilot.pause()
        assert not tool.expanded


async def test_second_agent_runs_in_its_own_chat(make_app: AppFactory) -> None:
    def policy(messages: list[object], tools: object) -> Step:
        # The first agent answers only after the user has moved to the second chat (a fast start
        # could otherwise answer before ctrl-n is handled, and nothing would be unread).
        first_task = any("task one" in str(getattr(m, "content", "")) for m in messages)
        return Step(text="finished", tool_calls=(("stop", {}),), delay=1.0 if first_task else 0.2)

    app, _ = make_app(ScriptedModel(policy))
    async with app.run_test(size=SIZE) as pilot:
        first = app.current_chat
        await send(pilot, "task one")
        await pilot.press("ctrl+n")
        second = app.current_chat
        assert second is not first and second.name == "Chat #2"
        assert app.current_log is not app.chat_log(first.session_id)
        await send(pilot, "task two")
        await wait_for(pilot, lambda: first.status == "done" and second.status == "done" and not first.busy)
        assert first.unread > 0  # it got messages while not shown
        await pilot.press("tab")
        assert app.current_chat is first and first.unread == 0
        first_users = [e.text for e in app.chat_log(first.session_id).entries if isinstance(e, UserEntry)]
        second_users = [e.text for e in app.chat_log(second.session_id).entries if isinstance(e, UserEntry)]
        assert (first_users, second_users) == (["task one"], ["task two"])


async def test_ctrl_x_stops_a_running_shell_command(make_app: AppFactory) -> None:
    app, _ = make_app(ScriptedModel([call("shell_command", cmd="sleep 30")]))
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "sleep a while")
        log = app.current_log
        await wait_for(pilot, lambda: any(isinstance(e, ToolCallEntry) for e in log.entries))
        started = time.monotonic()
        await pilot.press("ctrl+x")
        await wait_for(pilot, lambda: app.current_chat.status == "stopped" and not app.current_chat.busy, timeout=10)
        assert time.monotonic() - started < 5
        texts = system_texts(log)
        assert texts.count("Agent stopped") == 1 and not any("stop_agent" in t or "Command" in t for t in texts)


async def test_error_is_shown_with_hint_and_retry_recovers(make_app: AppFactory) -> None:
    failing = Step(error=Transient("the provider is overloaded", hint="wait a minute, then /retry"))
    app, _ = make_app(ScriptedModel([failing, Step(text="recovered", tool_calls=(("stop", {}),))]))
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "do it")
        await wait_for(pilot, lambda: app.current_chat.status == "failed" and not app.current_chat.busy)
        errors = [e for e in app.current_log.entries if isinstance(e, SystemEntry) and e.level == "error"]
        assert [(e.text, e.hint) for e in errors] == [("the provider is overloaded", "wait a minute, then /retry")]
        await send(pilot, "/retry")
        await wait_for(pilot, lambda: app.current_chat.status == "done" and not app.current_chat.busy)
        entries = app.current_log.entries
        assert any(isinstance(e, CommandEntry) and e.label == "retry" for e in entries)
        assert [e.text for e in entries if isinstance(e, AssistantEntry)] == ["recovered"]
        assert not any("retry_chat" in t for t in system_texts(app.current_log))


async def test_diff_shows_colored_changes_and_pull_makes_a_branch(make_app: AppFactory, tmp_git_repo: Path) -> None:
    app, _ = make_app(ScriptedModel([call("write_file", file_name="hello.txt", content="changed\n"), call("stop")]))
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "change hello")
        await wait_for(pilot, lambda: app.current_chat.status == "done" and not app.current_chat.busy)
        await send(pilot, "/diff")
        await wait_for(pilot, lambda: any(isinstance(e, DiffEntry) for e in app.current_log.entries))
        (diff,) = [e for e in app.current_log.entries if isinstance(e, DiffEntry)]
        assert "+changed" in diff.diff and "-Hello, world!" in diff.diff
        await send(pilot, "/diff pull")
        await wait_for(
            pilot, lambda: not app.current_chat.busy and any("Pulled" in t for t in system_texts(app.current_log))
        )
        branch = app.current_chat.branch
        assert f"Pulled diff into branch `{branch}-pulled`" in system_texts(app.current_log)
    assert git(tmp_git_repo, "show", f"{branch}-pulled:hello.txt") == "changed"
    assert (tmp_git_repo / "hello.txt").read_text() == "Hello, world!\n"


async def test_ctrl_q_stops_agents_and_removes_worktrees(make_app: AppFactory, tmp_git_repo: Path) -> None:
    app, _ = make_app(ScriptedModel([call("shell_command", cmd="sleep 30")]))
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "sleep a while")
        await wait_for(pilot, lambda: app.current_chat.status == "running")
        assert len(git(tmp_git_repo, "worktree", "list").splitlines()) == 2
        await pilot.press("ctrl+q")  # an agent works: kwaak asks first
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmQuit))
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmQuit))
        assert app.return_code is None and app.current_chat.status == "running"
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmQuit))
        started = time.monotonic()
        await pilot.press("y")
        await wait_for(pilot, lambda: app.return_code is not None, timeout=10)
    assert time.monotonic() - started < 6
    assert app.return_code == 0

    assert len(git(tmp_git_repo, "worktree", "list").splitlines()) == 1


async def test_quit_question_closes_itself_when_the_last_agent_finishes(make_app: AppFactory) -> None:
    """ctrl-q asked because an agent worked; once it finishes nothing can be lost, so kwaak quits as asked."""
    app, _ = make_app(ScriptedModel([call("shell_command", cmd="sleep 2"), call("stop")]))
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "sleep a little")
        await wait_for(pilot, lambda: app.current_chat.status == "running")
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmQuit))
        assert "1 agent is still working" in str(app.screen.query_one("#confirm-question").render())
        await wait_for(pilot, lambda: app.return_code is not None, timeout=20)
    assert app.return_code == 0


@dataclass
class Ctx:
    config: Config
    repo_root: Path
    skip_indexing: bool = True


async def test_restart_restores_the_saved_chats(make_config: Callable[..., Config], tmp_git_repo: Path) -> None:
    ctx = Ctx(make_config(), tmp_git_repo)
    first = build_app(ctx)  # the real `kwaak` wiring: models from the (scripted) config, sessions saved
    async with first.run_test(size=SIZE) as pilot:
        await send(pilot, "first task")
        await wait_for(pilot, lambda: first.current_chat.status == "done" and not first.current_chat.busy)
        saved = first.current_chat.session_id
    second = build_app(ctx)
    async with second.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: second.chats[0].session_id == saved)
        [restored] = second.chats  # no blank chat is added next to restored ones
        assert (restored.session_id, restored.name, restored.status) == (saved, "Kwek", "done")
        assert second.current_chat is restored
        transcript = second.chat_log(saved).entries
        assert [e.text for e in transcript if isinstance(e, UserEntry)] == ["first task"]
        assert system_texts(second.chat_log(saved))[-1].startswith("Restored from the last run")


async def test_initial_message_is_sent_with_a_plain_connect_function(make_app: AppFactory) -> None:
    _, backend = make_app(ScriptedModel([Step(text="on it", tool_calls=(("stop", {}),))]))
    app = KwaakApp(lambda: backend, skip_indexing=True, initial_message="start right away")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.current_chat.status == "done" and not app.current_chat.busy)
        users = [e.text for e in app.current_log.entries if isinstance(e, UserEntry)]
        assert users == ["start right away"]
