"""Infrastructure faults under a running session: a full disk, a stale git lock, docker going away."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kwaak import protocol as p
from kwaak.llm.testing import ScriptedModel, call
from tests.backend.conftest import Recorder
from tests.conftest import git
from tests.executors.conftest import TEST_IMAGE
from tests.reliability.headless import agent_worktrees, processes_matching, sleep_marker


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs (we run as root), unmounted at the end."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"DISK-FULL TESTS SKIPPED: cannot mount a tmpfs: {result.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path, leave_bytes: int) -> None:
    """Fill ``disk`` until about ``leave_bytes`` are free."""
    import os

    stat = os.statvfs(disk)
    free = stat.f_bavail * stat.f_frsize
    (disk / "ballast").write_bytes(b"\0" * max(0, free - leave_bytes))


def _errors(rec: Recorder, sid: str) -> list[str]:
    return [c.error or "" for c in rec.of(p.CommandCompleted, sid) if not c.ok]


async def test_disk_full_while_the_agent_writes_is_one_clear_error_and_retry_recovers(
    make_backend, small_disk: Path
) -> None:
    model = ScriptedModel(
        [
            call("write_file", file_name="big.txt", content="x" * 1_500_000),
            call("write_file", file_name="small.txt", content="fits\n"),
            call("stop"),
        ]
    )
    backend, rec = make_backend(model, cache_dir=str(small_disk))

    def fill_once_started(event: p.Event) -> None:
        if isinstance(event.msg, p.ToolCallStarted) and not (small_disk / "ballast").exists():
            _fill(small_disk, 200_000)  # the disk fills up while the agent works

    backend.add_listener(fill_once_started)
    failed = await backend.run_op("s", p.Chat(message="write big files"))
    finished = rec.of(p.ToolCallFinished, "s")
    assert not finished[0].ok and "No space left on device" in finished[0].output, finished[0]
    session = backend._sessions["s"]
    # Writes are atomic: the failed one leaves neither a half-written file nor its temp file.
    assert not (session.workspace.path / "big.txt").exists()
    assert not list(session.workspace.path.glob(".big.txt.*"))
    # The 1.5 MB call itself does not fit in the session store either: one clear error with a hint.
    assert not failed.ok and failed.error_kind == "session", failed
    assert "No space left on device" in (failed.error or "") and "cache_dir" in (failed.hint or "")
    assert len(_errors(rec, "s")) == 1
    (small_disk / "ballast").unlink()  # the user frees space
    retried = await backend.run_op("s", p.RetryChat())
    assert retried.ok, retried
    assert (session.workspace.path / "small.txt").read_text() == "fits\n"
    # What reached the disk replays to the same history (no torn or duplicated records).
    assert session.store is not None
    assert [type(m) for m in session.store.load_history()] == [type(m) for m in session.state.history]


async def test_disk_full_before_the_session_starts_is_one_clear_error(
    make_backend, small_disk: Path, tmp_git_repo: Path
) -> None:
    _fill(small_disk, 0)
    backend, rec = make_backend(ScriptedModel([call("stop")]), cache_dir=str(small_disk))
    done = await backend.run_op("s", p.Chat(message="anything"))
    assert not done.ok
    assert done.error_kind != "internal", done
    assert "No space left on device" in (done.error or ""), done
    assert done.hint
    (small_disk / "ballast").unlink()
    assert agent_worktrees(tmp_git_repo) == []


async def test_stale_index_lock_in_the_users_repo_does_not_block_agents(make_backend, tmp_git_repo: Path) -> None:
    (tmp_git_repo / ".git" / "index.lock").write_text("")
    model = ScriptedModel([call("write_file", file_name="new.txt", content="agent\n"), call("stop")])
    backend, rec = make_backend(model)
    done = await backend.run_op("s", p.Chat(message="add a file"))
    assert done.ok, done
    assert rec.of(p.Committed, "s")
    branch = backend._sessions["s"].workspace.branch
    assert git(tmp_git_repo, "show", f"{branch}:new.txt") == "agent"
    assert (tmp_git_repo / ".git" / "index.lock").exists(), "the user's lock is not ours to delete"


async def test_stale_index_lock_in_the_agents_worktree_is_a_clear_warning(make_backend, tmp_git_repo: Path) -> None:
    model = ScriptedModel(
        [
            call("shell_command", cmd='touch "$(git rev-parse --git-dir)/index.lock"'),
            call("write_file", file_name="new.txt", content="agent\n"),
            call("stop"),
        ]
    )
    backend, rec = make_backend(model)
    done = await backend.run_op("s", p.Chat(message="add a file"))
    warnings = [m for m in rec.of(p.SystemMessage, "s") if m.level == "warning"]
    assert done.ok, done
    assert any("Could not commit" in w.text and "index.lock" in w.text for w in warnings), warnings


# -- docker -----------------------------------------------------------------------------------


@pytest.fixture
def docker_repo(tmp_git_repo: Path, docker_ok: None) -> Path:
    (tmp_git_repo / "Dockerfile").write_text(f"FROM {TEST_IMAGE}\n")
    git(tmp_git_repo, "add", "Dockerfile")
    git(tmp_git_repo, "commit", "-q", "-m", "Dockerfile")
    return tmp_git_repo


async def _wait_for_tool(rec: Recorder, sid: str, count: int = 1) -> None:
    for _ in range(600):
        if len(rec.of(p.ToolCallStarted, sid)) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("tool never started")


def _container_exists(name: str) -> bool:
    return subprocess.run(["docker", "inspect", name], capture_output=True).returncode == 0


@pytest.mark.docker
async def test_container_killed_mid_tool_fails_the_tool_without_hanging(make_backend, docker_repo: Path) -> None:
    marker = sleep_marker()
    model = ScriptedModel([call("shell_command", cmd=marker), call("shell_command", cmd="echo after"), call("stop")])
    backend, rec = make_backend(model, tool_executor="docker", executor_fallback=False)
    chat = asyncio.create_task(backend.run_op("s", p.Chat(message="sleep")))
    for _ in range(600):  # the container's processes are visible on the host
        if processes_matching(marker):
            break
        await asyncio.sleep(0.05)
    container = backend._sessions["s"].executor.container
    killed_at = time.monotonic()
    subprocess.run(["docker", "kill", container], check=True, capture_output=True)
    done = await asyncio.wait_for(chat, 60)
    finished = rec.of(p.ToolCallFinished, "s")
    assert time.monotonic() - killed_at < 30
    assert "exit code" in finished[0].output, finished[0]  # a non-zero exit is a normal shell result
    assert not finished[1].ok and "is gone" in finished[1].output and "restart the chat" in finished[1].output
    assert done.ok, done
    await backend.aclose()
    assert not _container_exists(container)


@pytest.mark.docker
async def test_docker_daemon_lost_mid_session_is_a_clear_tool_failure(
    make_backend, docker_repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model = ScriptedModel(
        [call("shell_command", cmd="echo before"), call("shell_command", cmd="echo during"), call("stop")]
    )
    backend, rec = make_backend(model, tool_executor="docker", executor_fallback=False)
    gone = tmp_path / "no-daemon.sock"

    async def lose_daemon_after_first_tool() -> None:
        await _wait_for_tool(rec, "s")
        monkeypatch.setenv("DOCKER_HOST", f"unix://{gone}")

    saboteur = asyncio.create_task(lose_daemon_after_first_tool())
    done = await asyncio.wait_for(backend.run_op("s", p.Chat(message="echo twice")), 120)
    await saboteur
    container = backend._sessions["s"].executor.container
    finished = rec.of(p.ToolCallFinished, "s")
    assert done.ok, done
    assert finished[1].name == "shell_command" and not finished[1].ok
    assert "lost the docker daemon" in finished[1].output and "start the docker daemon" in finished[1].output
    started = time.monotonic()
    await backend.aclose()  # removing the container fails quietly: no hang
    assert time.monotonic() - started < 30
    monkeypatch.delenv("DOCKER_HOST")
    subprocess.run(["docker", "rm", "--force", container], capture_output=True, check=False)


async def test_docker_unreachable_at_start_fails_clearly_and_leaves_no_worktree(
    make_backend, tmp_git_repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'no-daemon.sock'}")
    backend, rec = make_backend(ScriptedModel([call("stop")]), tool_executor="docker", executor_fallback=False)
    done = await backend.run_op("s", p.Chat(message="hi"))
    assert not done.ok and done.error_kind == "executor_unavailable", done
    assert done.hint
    assert agent_worktrees(tmp_git_repo) == []


async def test_docker_unreachable_at_start_falls_back_with_a_warning(
    make_backend, tmp_git_repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'no-daemon.sock'}")
    model = ScriptedModel([call("shell_command", cmd="echo fell back"), call("stop")])
    backend, rec = make_backend(model, tool_executor="docker")
    done = await backend.run_op("s", p.Chat(message="hi"))
    assert done.ok, done
    warnings = [m.text for m in rec.of(p.SystemMessage, "s") if m.level == "warning"]
    assert any("docker" in w.lower() for w in warnings), warnings
    assert backend._sessions["s"].executor.kind in ("sandbox", "local")
