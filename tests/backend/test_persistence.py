"""Sessions survive quits, crashes and kill -9: history, usage, status and committed work."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from kwaak import protocol as p
from kwaak.backend import Backend, Models
from kwaak.backend.persistence import SessionStore
from kwaak.backend.store_index import list_sessions
from kwaak.llm.testing import ScriptedModel, call
from kwaak.messages import AssistantMessage, SystemMessage, ToolCall, ToolResult, UserMessage
from tests.conftest import git
from tests.scripted import json_lines, run_kwaak, write_scripted_config


def test_store_roundtrip_truncate_and_torn_line(tmp_path: Path) -> None:
    store = SessionStore(tmp_path, "abc")
    history = [
        SystemMessage(content="sys"),
        UserMessage(content="hi"),
        AssistantMessage(content="ok", tool_calls=(ToolCall(id="c1", name="stop", arguments="{}"),)),
        ToolResult(call_id="c1", name="stop", content="Stopped"),
    ]
    store.sync_history(history)
    del history[2:]  # a retry rewinds
    history.append(UserMessage(content="again"))
    store.sync_history(history)
    with open(store.dir / "history.jsonl", "a") as fh:
        fh.write('{"m": {"kind": "user", "con')  # torn by a crash
    assert SessionStore(tmp_path, "abc").load_history() == history


async def test_quit_and_restart_restores_and_resumes(make_config, tmp_git_repo: Path) -> None:
    config = make_config()
    models = Models(
        indexing=ScriptedModel(prompt_reply="Add a file"),
        query=ScriptedModel([call("write_file", file_name="notes.txt", content="one\n"), call("stop")]),
    )
    backend = Backend(config, tmp_git_repo, models=models, buffer_events=False, origin="tui")
    await backend.start()
    assert (await backend.run_op("s1", p.Chat(message="write notes"))).ok
    session = backend._sessions["s1"]
    history, title, branch = list(session.state.history), session.title, session.workspace.branch
    worktree = session.workspace.path
    await backend.aclose()
    assert not worktree.exists()  # no leftover worktree after quit; the branch keeps the work
    assert git(tmp_git_repo, "show", f"{branch}:notes.txt") == "one"

    models2 = Models(
        indexing=ScriptedModel(),
        query=ScriptedModel([call("read_file_with_line_numbers", file_name="notes.txt"), call("stop")]),
    )
    again = Backend(config, tmp_git_repo, models=models2, buffer_events=False, origin="tui")
    restored = await again.start()
    assert [s.session_id for s in restored] == ["s1"]
    assert restored[0].summary.status == "done" and restored[0].summary.branch == branch
    s1 = again._sessions["s1"]
    assert (s1.title, s1.status, s1.state.history) == (title, "done", history)
    assert s1.meter.steps == 2
    done = await again.run_op("s1", p.Chat(message="read them back"))
    assert done.ok, done
    read = [m for m in s1.state.history if isinstance(m, ToolResult) and m.name == "read_file_with_line_numbers"]
    assert read and "1|one" in read[-1].content
    assert s1.workspace.branch == branch
    await again.aclose()


def _write_config(repo: Path, name: str, script: list[dict]) -> Path:
    return write_scripted_config(repo, script, name=name, extra="[git]\nauto_push_remote = false")


def _kwaak(*args: str, cwd: Path, **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kwaak", *args],
        cwd=cwd,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        **kw,  # type: ignore[arg-type]
    )


def test_kill_9_mid_run_then_resume_loses_no_committed_work(tmp_git_repo: Path) -> None:
    first = _write_config(
        tmp_git_repo,
        "first",
        [
            {"tool_calls": [{"name": "write_file", "arguments": {"file_name": "done.txt", "content": "saved\n"}}]},
            {"tool_calls": [{"name": "shell_command", "arguments": {"cmd": "sleep 45.5"}}]},
            {"tool_calls": [{"name": "stop", "arguments": {}}]},
        ],
    )
    proc = _kwaak("-c", str(first), "-s", "run-agent", "-i", "write then wait", "--output", "jsonl", cwd=tmp_git_repo)
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    for line in proc.stdout:
        event = json.loads(line)
        if event["type"] == "tool_call_started" and event["name"] == "shell_command":
            break
        assert time.monotonic() < deadline
    time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    subprocess.run(["pkill", "-f", "sleep 45.5"], check=False)

    stores = list_sessions(tmp_git_repo.parent / "cache", tmp_git_repo)
    assert len(stores) == 1
    assert stores[0].status == "interrupted"  # its owner is gone: the lock says so
    meta = stores[0].store.load_meta()
    assert meta.status == "running"  # as it was when killed
    assert git(tmp_git_repo, "show", f"{meta.branch}:done.txt") == "saved"  # the committed step survived

    listing = run_kwaak(tmp_git_repo, first, "sessions").stdout
    assert meta.id[:8] in listing and "interrupted" in listing and "run-agent" in listing

    second = _write_config(
        tmp_git_repo,
        "second",
        [
            {"tool_calls": [{"name": "shell_command", "arguments": {"cmd": "cat done.txt"}}]},
            {"tool_calls": [{"name": "stop", "arguments": {}}]},
        ],
    )
    resumed = run_kwaak(tmp_git_repo, second, "sessions", "resume", meta.id[:8], "--output", "jsonl", timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    events = json_lines(resumed.stdout)
    outputs = [e["output"] for e in events if e["type"] == "tool_call_finished" and e["name"] == "shell_command"]
    assert outputs and "saved" in outputs[0]
    after = list_sessions(tmp_git_repo.parent / "cache", tmp_git_repo)[0].store.load_meta()
    assert after.status == "done"
    history = list_sessions(tmp_git_repo.parent / "cache", tmp_git_repo)[0].store.load_history()
    assert any(isinstance(m, UserMessage) and m.content == "write then wait" for m in history)
