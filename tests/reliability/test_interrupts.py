"""Ctrl-C, SIGTERM and kill -9 of `kwaak run-agent` in the middle of a tool call.

The agent first writes a file (committed to its branch after that step), then runs a long
`sleep`. The signal arrives during the sleep. Committed work must survive; a graceful signal must
end the process promptly without orphaned subprocesses or worktrees; after a kill -9 the next
start must find the session resumable and leave nothing orphaned.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from kwaak import protocol as p
from kwaak.backend import Backend, Models
from kwaak.config import load_config
from kwaak.llm.testing import ScriptedModel, call
from tests.conftest import git
from tests.reliability.headless import (
    agent_worktrees,
    kill_matching,
    kwaak_branches,
    processes_matching,
    sleep_marker,
    start_run_agent,
    tool_started,
    write_config,
)


def _script(marker: str) -> list[dict[str, object]]:
    return [
        {"tool_calls": [{"name": "write_file", "arguments": {"file_name": "saved.txt", "content": "keep me\n"}}]},
        {"tool_calls": [{"name": "shell_command", "arguments": {"cmd": marker}}]},
        {"tool_calls": [{"name": "stop", "arguments": {}}]},
    ]


def _wait_for_process(marker: str) -> None:
    for _ in range(100):
        if processes_matching(marker):
            return
        time.sleep(0.05)
    raise AssertionError(f"{marker!r} never started")


def _assert_work_committed(repo: Path) -> str:
    branches = kwaak_branches(repo)
    assert len(branches) == 1, branches
    assert git(repo, "show", f"{branches[0]}:saved.txt") == "keep me"
    return branches[0]


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl-c", "sigterm"])
def test_graceful_signal_mid_tool_exits_promptly_and_cleans_up(
    tmp_git_repo: Path, sig: signal.Signals, code: int
) -> None:
    marker = sleep_marker()
    run = start_run_agent(tmp_git_repo, write_config(tmp_git_repo, _script(marker)))
    run.wait_for_event(tool_started("shell_command"))
    _wait_for_process(marker)
    sent = time.monotonic()
    run.proc.send_signal(sig)
    exit_code, stderr = run.finish(timeout=20)
    assert time.monotonic() - sent < 10, "run-agent must exit promptly"
    assert exit_code == code, stderr
    assert "Traceback" not in stderr
    assert processes_matching(marker) == [], "the tool's subprocess must be killed"
    assert agent_worktrees(tmp_git_repo) == [], "the worktree is removed on exit (its work is on the branch)"
    _assert_work_committed(tmp_git_repo)
    assert run.events[-1]["type"] == "session_finished"
    assert run.events[-1]["status"] == "interrupted" and run.events[-1]["exit_code"] == code
    assert git(tmp_git_repo, "status", "--porcelain") == ""


def _crash_mid_tool(repo: Path, marker: str) -> Path:
    cfg_path = write_config(repo, _script(marker))
    run = start_run_agent(repo, cfg_path)
    run.wait_for_event(tool_started("shell_command"))
    _wait_for_process(marker)
    os.kill(run.proc.pid, signal.SIGKILL)
    run.finish()
    return cfg_path


async def test_kill_9_mid_tool_loses_no_commit_and_next_start_resumes(tmp_git_repo: Path) -> None:
    marker = sleep_marker()
    cfg_path = _crash_mid_tool(tmp_git_repo, marker)
    kill_matching(marker)  # the next start would kill it too (see the test below); this test checks commits
    branch = _assert_work_committed(tmp_git_repo)
    # The next start keeps its worktree for resuming; a headless run is listed (interrupted), not reopened.
    config = load_config(tmp_git_repo, config_path=cfg_path)
    models = Models(indexing=ScriptedModel(prompt_reply="x"), query=ScriptedModel([call("stop")]))
    async with Backend(config, tmp_git_repo, models=models, buffer_events=False) as backend:
        assert await backend.start() == []
        [entry] = backend.stored_sessions()
        assert entry.status == "interrupted" and entry.meta is not None and entry.meta.origin == "run-agent"
        session = backend.open_session(entry.id)
        assert session.status == "interrupted"
        assert session.workspace is not None and session.workspace.branch == branch
        done = await backend.run_op(session.id, p.Chat(message="carry on"))
        assert done.ok, done
        assert (session.workspace.path / "saved.txt").read_text() == "keep me\n"
    assert agent_worktrees(tmp_git_repo) == []
    assert git(tmp_git_repo, "status", "--porcelain") == ""


async def test_kill_9_leaves_no_tool_subprocess_after_next_start(tmp_git_repo: Path) -> None:
    marker = sleep_marker()
    cfg_path = _crash_mid_tool(tmp_git_repo, marker)
    try:
        config = load_config(tmp_git_repo, config_path=cfg_path)
        async with Backend(config, tmp_git_repo, buffer_events=False) as backend:
            await backend.start()
        assert processes_matching(marker) == []
    finally:
        kill_matching(marker)
