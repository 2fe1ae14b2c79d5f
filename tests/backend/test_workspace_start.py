"""Where agents start: local HEAD, the main branch, or a fresh `origin/main` fetched from a remote ahead of HEAD."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import pytest

from kwaak import protocol as p
from kwaak.config.model import Config
from kwaak.errors import GitError
from kwaak.git.workspace import resolve_start_ref
from kwaak.llm.testing import ScriptedModel, call
from tests.conftest import base_config_data, git
from tests.scripted import json_lines, run_kwaak, tool, write_scripted_config


def push_ahead(bare_remote: Path, tmp_path: Path) -> str:
    """Another clone commits `ahead.txt` to the remote's main; returns that commit."""
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(bare_remote), str(other)], check=True)
    (other / "ahead.txt").write_text("from the remote\n")
    git(other, "add", "ahead.txt")
    git(other, "commit", "-q", "-m", "ahead")
    git(other, "push", "-q", "origin", "main")
    return git(other, "rev-parse", "HEAD").strip()


async def test_resolve_start_refs(tmp_git_repo: Path, bare_remote: Path, tmp_path: Path) -> None:
    ahead = push_ahead(bare_remote, tmp_path)
    git(tmp_git_repo, "checkout", "-q", "-b", "feature")
    (tmp_git_repo / "feature.txt").write_text("x\n")
    git(tmp_git_repo, "add", "feature.txt")
    git(tmp_git_repo, "commit", "-q", "-m", "feature")
    assert await resolve_start_ref(tmp_git_repo, "head", main_branch="main", remote="origin") == "HEAD"
    assert await resolve_start_ref(tmp_git_repo, "main", main_branch="main", remote="origin") == "refs/heads/main"
    ref = await resolve_start_ref(tmp_git_repo, "origin", main_branch="main", remote="origin")
    assert git(tmp_git_repo, "rev-parse", ref).strip() == ahead
    assert git(tmp_git_repo, "rev-parse", "main").strip() != ahead  # the local branch is not moved

    with pytest.raises(GitError, match="no local branch 'trunk'"):
        await resolve_start_ref(tmp_git_repo, "main", main_branch="trunk", remote="origin")
    with pytest.raises(GitError, match="git fetch nowhere"):
        await resolve_start_ref(tmp_git_repo, "origin", main_branch="main", remote="nowhere")
    with pytest.raises(GitError, match="invalid remote"):  # never an option to git fetch
        await resolve_start_ref(tmp_git_repo, "origin", main_branch="main", remote="--upload-pack=touch /tmp/x")


async def test_chat_op_starts_one_agent_from_origin(
    make_backend, tmp_git_repo: Path, bare_remote: Path, tmp_path: Path
) -> None:
    ahead = push_ahead(bare_remote, tmp_path)
    model = ScriptedModel(script=[call("shell_command", cmd="cat ahead.txt"), call("stop", text="done")])
    backend, rec = make_backend(model)
    done = await backend.run_op("s1", p.Chat(message="look", start_from="origin"))
    assert done.ok, done.error
    outputs = [m.output for m in rec.of(p.ToolCallFinished) if m.name == "shell_command"]
    assert "from the remote" in outputs[0]
    (branch,) = [m.branch for m in rec.of(p.BranchRenamed)]
    git(tmp_git_repo, "merge-base", "--is-ancestor", ahead, branch)  # raises when the branch lacks it


def test_config_start_from_and_019_alias(tmp_git_repo: Path) -> None:
    def config(**data: object) -> Config:
        return Config.model_validate(base_config_data(tmp_git_repo, **data))

    assert config().start_from == "head"
    assert config(workspace={"start_from": "origin/main"}).start_from == "origin"
    assert config(workspace={"start_from": "HEAD"}).start_from == "head"
    assert config(git={"clone_repository_on_start": True}).start_from == "origin"
    both = config(git={"clone_repository_on_start": True}, workspace={"start_from": "main"})
    assert both.start_from == "main"


def test_run_agent_from_origin_main_with_019_key(tmp_git_repo: Path, bare_remote: Path, tmp_path: Path) -> None:
    push_ahead(bare_remote, tmp_path)
    assert not (tmp_git_repo / "ahead.txt").exists()
    script = [tool("shell_command", cmd="cat ahead.txt && git log --oneline -1"), tool("stop", text="done")]
    cfg = write_scripted_config(tmp_git_repo, script, extra="[git]\nclone_repository_on_start = true\n")
    proc = run_kwaak(tmp_git_repo, cfg, "-s", "run-agent", "-i", "look", "--output", "jsonl")
    assert proc.returncode == 0, proc.stderr
    events = json_lines(proc.stdout)
    out = next(e["output"] for e in events if e["type"] == "tool_call_finished" and e["name"] == "shell_command")
    assert "from the remote" in out and "ahead" in out
    assert not (tmp_git_repo / "ahead.txt").exists()  # the user's checkout is not updated


def test_batch_task_and_run_agent_flag_choose_where_agents_start(
    tmp_git_repo: Path, bare_remote: Path, tmp_path: Path
) -> None:
    push_ahead(bare_remote, tmp_path)
    script = [tool("shell_command", cmd="ls ahead.txt || echo no-ahead"), tool("stop", text="done")]
    cfg = write_scripted_config(tmp_git_repo, script)
    proc = run_kwaak(tmp_git_repo, cfg, "-s", "run-agent", "-i", "look", "--start-from", "origin", "--output", "jsonl")
    assert proc.returncode == 0, proc.stderr
    (out,) = [
        e["output"]
        for e in json_lines(proc.stdout)
        if e["type"] == "tool_call_finished" and e["name"] == "shell_command"
    ]
    assert out.strip() == "ahead.txt"

    tasks = tmp_path / "tasks.toml"
    tasks.write_text('[[task]]\nprompt = "from origin"\nstart_from = "origin/main"\n[[task]]\nprompt = "from head"\n')
    cfg = write_scripted_config(tmp_git_repo, script + script, name="batch")
    proc = run_kwaak(tmp_git_repo, cfg, "-s", "batch", str(tasks), "--parallel", "1", "--output", "jsonl")
    assert proc.returncode == 0, proc.stderr
    outs = sorted(
        e["output"].strip()
        for e in json_lines(proc.stdout)
        if e["type"] == "tool_call_finished" and e["name"] == "shell_command"
    )
    assert outs[0] == "ahead.txt" and outs[1].endswith("no-ahead")


async def test_recreated_worktree_is_set_up_again(make_backend, tmp_git_repo: Path) -> None:
    """A resumed agent whose worktree was removed gets `copy` and `setup` again (a new worktree)."""
    (tmp_git_repo / ".gitignore").write_text(".env\n")
    git(tmp_git_repo, "add", ".gitignore")
    git(tmp_git_repo, "commit", "-q", "-m", "ignore .env")
    (tmp_git_repo / ".env").write_text("A=1\n")
    model = ScriptedModel(
        script=[
            call("shell_command", cmd="cat .env"),
            call("stop"),
            call("shell_command", cmd="cat .env"),
            call("stop"),
        ]
    )
    backend, rec = make_backend(model, workspace={"setup": ["echo set-up >> setup.log"], "copy": [".env"]})
    assert (await backend.run_op("s1", p.Chat(message="first"))).ok
    session = backend.session("s1")
    worktree = session.workspace.path
    await session.aclose(delete_workspace=True)  # like a quit: work committed, worktree removed
    assert not worktree.exists()
    assert (await backend.run_op("s1", p.Chat(message="second"))).ok
    setups = [m for m in rec.of(p.ToolCallFinished) if m.name == "workspace_setup"]
    assert [m.ok for m in setups] == [True, True]
    shells = [m.output for m in rec.of(p.ToolCallFinished) if m.name == "shell_command"]
    assert shells == ["A=1", "A=1"]
    warnings = [m.text for m in rec.of(p.SystemMessage) if m.level == "warning"]
    assert warnings == ["Setup left files git does not ignore: setup.log; the agent's commits will include them"]


async def test_attack_fetch_for_origin_runs_no_planted_hook(
    tmp_git_repo: Path, bare_remote: Path, tmp_path: Path
) -> None:
    """A hook planted in the repository (a local-executor agent can write `.git/hooks`) never runs
    when kwaak fetches `origin/main` for a new agent."""
    ahead = push_ahead(bare_remote, tmp_path)
    marker = tmp_path / "hook-ran"
    for name in ("reference-transaction", "post-checkout", "post-merge"):
        hook = tmp_git_repo / ".git" / "hooks" / name
        hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
        hook.chmod(0o755)
    ref = await resolve_start_ref(tmp_git_repo, "origin", main_branch="main", remote="origin")
    assert git(tmp_git_repo, "rev-parse", ref) == ahead
    assert not marker.exists()


async def test_stop_during_a_long_setup_ends_it_at_once(make_backend, tmp_path: Path) -> None:
    marker = tmp_path / "setup-finished"
    model = ScriptedModel(script=[call("stop")])
    backend, rec = make_backend(model, workspace={"setup": [f"sleep 60 && touch {marker}"]})
    chat = asyncio.ensure_future(backend.run_op("s1", p.Chat(message="go")))
    deadline = time.monotonic() + 30
    while not any(m.name == "workspace_setup" for m in rec.of(p.ToolCallStarted)):
        assert time.monotonic() < deadline, "setup never started"
        await asyncio.sleep(0.05)
    started = time.monotonic()
    await backend.run_op("s1", p.StopAgent())
    done = await asyncio.wait_for(chat, 20)
    assert time.monotonic() - started < 10
    assert not done.ok
    assert [m.status for m in rec.of(p.StatusChanged)][-1] == "stopped"
    await asyncio.sleep(0.5)
    assert not marker.exists()  # the setup's process group was killed
