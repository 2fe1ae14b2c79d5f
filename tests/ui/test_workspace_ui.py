"""Pilot tests: `[workspace] setup` output, a failing setup and the worktree health check in the TUI."""

from __future__ import annotations

from pathlib import Path

from kwaak.llm.testing import ScriptedModel, call
from kwaak.ui.messages import SystemEntry, ToolCallEntry
from tests.backend.test_workspace_start import push_ahead
from tests.conftest import git
from tests.ui.conftest import AppFactory
from tests.ui.helpers import SIZE, send, system_texts, wait_for


async def test_setup_output_and_health_check_show_in_the_chat(make_app: AppFactory, tmp_git_repo: Path) -> None:
    (tmp_git_repo / ".gitignore").write_text(".env\n")
    git(tmp_git_repo, "add", ".gitignore")
    git(tmp_git_repo, "commit", "-q", "-m", "ignore .env")
    (tmp_git_repo / ".env").write_text("TOKEN_FOR_TESTS=1\n")
    model = ScriptedModel([call("shell_command", cmd="cat .env"), call("stop")])
    workspace = {"setup": ["echo hello-from-setup && ls .env"], "copy": [".env"]}
    app, _ = make_app(model, workspace=workspace)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "check the setup")
        await wait_for(pilot, lambda: app.current_chat.status == "done")
        log = app.current_log
        setup, shell = [e for e in log.entries if isinstance(e, ToolCallEntry)]
        assert (setup.tool_name, setup.state) == ("workspace_setup", "ok")
        assert "setting up the workspace: `echo hello-from-setup && ls .env`" in setup.summary
        assert "hello-from-setup" in setup.output and ".env" in setup.output
        assert "TOKEN_FOR_TESTS=1" in shell.output
        texts = system_texts(log)
        assert "Copied into the worktree from your checkout: .env" in texts
        assert any(t.startswith("Workspace: python3 → ") for t in texts)


async def test_failing_setup_is_an_error_line_and_the_agent_continues(make_app: AppFactory) -> None:
    model = ScriptedModel([call("shell_command", cmd="echo still-working"), call("stop")])
    app, _ = make_app(model, workspace={"setup": ["echo about-to-fail >&2; exit 7", "echo never-runs"]})
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "go")
        await wait_for(pilot, lambda: app.current_chat.status == "done")
        log = app.current_log
        setup, shell = [e for e in log.entries if isinstance(e, ToolCallEntry)]
        assert (setup.tool_name, setup.state) == ("workspace_setup", "failed")
        assert "about-to-fail" in setup.output and "[exit code 7]" in setup.output
        (error,) = [e for e in log.entries if isinstance(e, SystemEntry) and "-error" in e.classes]
        assert error.text.startswith("Workspace setup failed: `echo about-to-fail >&2; exit 7` (exit code 7")
        assert shell.state == "ok" and "still-working" in shell.output
        assert not any("never-runs" in e.output for e in log.entries if isinstance(e, ToolCallEntry))


async def test_new_chat_from_origin_starts_the_agent_from_the_fetched_remote(
    make_app: AppFactory, bare_remote: Path, tmp_path: Path
) -> None:
    push_ahead(bare_remote, tmp_path)
    model = ScriptedModel([call("shell_command", cmd="cat ahead.txt"), call("stop")])
    app, _ = make_app(model)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "/new_chat origin")
        await pilot.pause()
        assert "This agent will start from a freshly fetched origin." in system_texts(app.current_log)
        await send(pilot, "look at the remote")
        await wait_for(pilot, lambda: app.current_chat.status == "done")
        (shell,) = [
            e for e in app.current_log.entries if isinstance(e, ToolCallEntry) and e.tool_name == "shell_command"
        ]
        assert "from the remote" in shell.output
        assert app.current_chat.start_from is None  # used by the first message only
