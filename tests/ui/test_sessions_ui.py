"""Saved sessions in the real TUI (Pilot): reopened tabs, one transcript at a time, /sessions, exit summary."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from textual.widgets import ContentSwitcher

from kwaak.backend.store_index import list_sessions
from kwaak.commands.tui_cmd import build_app
from kwaak.config import Config
from kwaak.ui import KwaakApp
from kwaak.ui.chat_log import ChatLog
from kwaak.ui.messages import CommandEntry, SystemEntry, UserEntry
from kwaak.ui.session_control import exit_summary
from kwaak.ui.sessions_picker import SessionsScreen
from tests.scripted import run_kwaak, tool, write_scripted_config
from tests.ui.helpers import SIZE, send, system_texts, wait_for


@dataclass
class Ctx:
    config: Config
    repo_root: Path
    skip_indexing: bool = True


def _shown_logs(app: KwaakApp) -> list[str]:
    """The session ids of the transcripts that are drawn."""
    switcher = app.query_one("#chat-logs", ContentSwitcher)
    return [log.session_id for log in switcher.query(ChatLog) if log.display]


async def _run_three_chats(ctx: Ctx) -> list[str]:
    first = build_app(ctx)
    async with first.run_test(size=SIZE) as pilot:
        for n, task in enumerate(("first task", "second task", "third task")):
            if n:
                await pilot.press("ctrl+n")
            await send(pilot, task)
            await wait_for(pilot, lambda: first.current_chat.status == "done" and not first.current_chat.busy)
        await send(pilot, "/stats")
        await wait_for(pilot, lambda: any(t.startswith("Team:") for t in system_texts(first.current_log)))
        ids = [chat.session_id for chat in first.chats]
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: first.return_code is not None, timeout=15)
    assert exit_summary(first.chats).count("  done ") == 3
    return ids


async def test_restart_with_three_chats_shows_one_transcript_at_a_time(
    make_config: Callable[..., Config], tmp_git_repo: Path
) -> None:
    ctx = Ctx(make_config(), tmp_git_repo)
    ids = await _run_three_chats(ctx)
    second = build_app(ctx)
    async with second.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: [c.session_id for c in second.chats] == ids)  # no blank chat added
        assert second.current == 0
        for index, task in enumerate(("first task", "second task", "third task")):
            await pilot.pause()
            assert _shown_logs(second) == [ids[index]]  # only the selected chat is drawn
            log = second.chat_log(ids[index])
            assert [e.text for e in log.entries if isinstance(e, UserEntry)] == [task]
            await pilot.press("tab")
        echoes = [e.label for e in second.chat_log(ids[2]).entries if isinstance(e, CommandEntry)]
        assert echoes == ["stats"]  # the » command echo comes back with the transcript
        assert second.team_usage.input_tokens > 0  # team totals restored from the store
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: second.return_code is not None, timeout=15)


async def test_sessions_picker_lists_headless_runs_and_opens_resumes_and_deletes(
    make_config: Callable[..., Config], tmp_git_repo: Path
) -> None:
    script = [tool("write_file", file_name="headless.txt", content="from run-agent\n"), tool("stop")]
    cfg = write_scripted_config(tmp_git_repo, script, name="headless", extra="[git]\nauto_push_remote = false")
    done = run_kwaak(tmp_git_repo, cfg, "-s", "run-agent", "-i", "headless task")
    assert done.returncode == 0, done.stderr
    config = make_config(cache_dir=str(tmp_git_repo.parent / "cache"))
    [headless] = list_sessions(config.cache_dir, tmp_git_repo)
    assert headless.meta is not None and headless.meta.origin == "run-agent"

    app = build_app(Ctx(config, tmp_git_repo))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await wait_for(pilot, lambda: app.bridge.connected)
        assert [c.session_id for c in app.chats] != [headless.id]  # a headless run never reopens as a tab
        await send(pilot, "/sessions")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen) and app.screen.loaded)
        picker = app.screen
        assert isinstance(picker, SessionsScreen)
        [row] = picker.sessions
        assert (row.session_id, row.origin, row.status) == (headless.id, "run-agent", "done")
        assert row.branch and row.tokens > 0
        await pilot.press("enter")  # open: it becomes a chat tab with its transcript
        await wait_for(pilot, lambda: app.current_chat.session_id == headless.id)
        assert len(app.chats) == 1  # the blank start-up chat made room for it
        users = [e.text for e in app.current_log.entries if isinstance(e, UserEntry)]
        assert users == ["headless task"]
        assert "Opened from /sessions" in " ".join(system_texts(app.current_log))
        assert _shown_logs(app) == [headless.id]

        await send(pilot, "/sessions")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen) and app.screen.loaded)
        await pilot.press("r")  # resume: retry its last step
        retried = lambda: any(isinstance(e, CommandEntry) and e.label == "retry" for e in app.current_log.entries)  # noqa: E731
        await wait_for(pilot, lambda: retried() and not app.current_chat.busy)
        assert app.current_chat.status == "done"
        assert not [e for e in app.current_log.entries if isinstance(e, SystemEntry) and e.level == "error"]
        assert [e.label for e in app.current_log.entries if isinstance(e, CommandEntry)] == ["sessions", "retry"]

        await send(pilot, "/sessions")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen) and app.screen.loaded)
        assert app.screen.sessions[0].open_here  # type: ignore[attr-defined]
        await pilot.press("d")
        assert "Press d again" in app.screen.help_text  # type: ignore[attr-defined]
        await pilot.press("d")
        await wait_for(pilot, lambda: list_sessions(config.cache_dir, tmp_git_repo) == [])
        await wait_for(pilot, lambda: any("Deleted session" in t for t in system_texts(app.current_log)))
        assert headless.id not in [c.session_id for c in app.chats]
        worktrees = subprocess.run(["git", "worktree", "list"], cwd=tmp_git_repo, capture_output=True, text=True)
        assert worktrees.stdout.count("\n") == 1


def test_exit_summary_lists_used_chats_and_escapes_model_titles() -> None:
    from kwaak.ui.state import ChatState

    chats = [
        ChatState(session_id="3f2a1b9c-1", name="Fix it\x1b[2J\rnow", status="done", branch="kwaak/fix-3f2a1b9c"),
        ChatState(session_id="77aa0b12-2", name="Busy", status="running", branch="kwaak/busy-77aa0b12"),
        ChatState(session_id="blank", name="Chat #3"),
    ]
    summary = exit_summary(chats)
    assert summary.startswith("kwaak: 2 session(s) saved")
    assert "\x1b" not in summary and "\r" not in summary
    assert "77aa0b12  interrupted" in summary and "Chat #3" not in summary
    assert exit_summary([chats[2]]) == ""
