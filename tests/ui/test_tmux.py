"""End to end: the real ``kwaak`` command in tmux, against a fake OpenAI-compatible server."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import git
from tests.fakes.provider_server import FakeProviderServer, reply, tool_call

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


def kwaak_command() -> str:
    """The installed console script next to this interpreter, else ``python -m kwaak``."""
    script = Path(sys.executable).parent / "kwaak"
    return str(script) if script.exists() else f"{sys.executable} -m kwaak"


class Tmux:
    """A private tmux server (own socket, no user config) running one session."""

    def __init__(self, cwd: Path) -> None:
        self.socket = f"kwaak-test-{uuid.uuid4().hex[:8]}"
        self.cwd = cwd

    def run(self, *args: str) -> str:
        cmd = ["tmux", "-L", self.socket, "-f", "/dev/null", *args]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=10).stdout

    def start(self, command: str, *, width: int = 140, height: int = 40) -> None:
        self.run("new-session", "-d", "-s", "e2e", "-x", str(width), "-y", str(height), "-c", str(self.cwd), command)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "e2e")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "e2e", *keys)

    def wait_for(self, text: str, *, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not on screen after {timeout}s:\n{screen}")
            time.sleep(0.1)

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10, check=False)


@pytest.fixture
def provider() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as server:
        yield server


@pytest.fixture
def tmux(tmp_git_repo: Path) -> Iterator[Tmux]:
    session = Tmux(tmp_git_repo)
    yield session
    session.kill()


def write_config(repo: Path, server_url: str) -> None:
    (repo / "kwaak.toml").write_text(
        f"""
project_name = "e2e"
language = "python"
tool_executor = "local"
cache_dir = "{repo.parent / "cache"}"
log_dir = "{repo.parent / "logs"}"

[llm.indexing]
provider = "Scripted"

[llm.query]
provider = "OpenAI"
base_url = "{server_url}/v1"
api_key = "text:x"
prompt_model = "gpt-4o-mini"

[llm.embedding]
provider = "Scripted"

[git]
auto_push_remote = false
main_branch = "main"
"""
    )


def test_kwaak_in_tmux_runs_a_task_and_quits_cleanly(
    tmux: Tmux, provider: FakeProviderServer, tmp_git_repo: Path
) -> None:
    write_config(tmp_git_repo, provider.url)
    provider.enqueue(
        tool_call("write_file", file_name="hello.txt", content="hi from tmux\n"),
        reply("The file is written: tmux-e2e-done"),
    )
    tmux.start(f"{kwaak_command()} -s; echo KWAAK_EXIT=$?; sleep 60")
    tmux.wait_for("Send a message to an agent")
    tmux.keys("write hello from tmux", "C-s")
    screen = tmux.wait_for("tmux-e2e-done")
    assert "▶ write hello from tmux" in screen
    screen = tmux.wait_for("writing file `hello.txt` ✓")
    # with the context meter the status line is full at this width: labels turn into symbols
    assert "branch: kwaak/" in screen or "⎇ kwaak/" in screen
    assert "gpt-4o-mini" in screen and ("ctx " in screen or "context: " in screen)
    assert "Command chat" not in screen and "Failed to handle command" not in screen
    tmux.keys("C-q")
    tmux.wait_for("KWAAK_EXIT=0", timeout=15)
    assert len(git(tmp_git_repo, "worktree", "list").splitlines()) == 1
    user_turns = [r for r in provider.requests if r.api == "openai"]
    assert any("write hello from tmux" in str(r.body) for r in user_turns)


def test_kwaak_in_tmux_shows_a_failing_command_with_its_exit_code(
    tmux: Tmux, provider: FakeProviderServer, tmp_git_repo: Path
) -> None:
    write_config(tmp_git_repo, provider.url)
    provider.enqueue(
        tool_call("shell_command", cmd="echo tmux-broken; exit 3"),
        reply("The command failed: tmux-e2e-failed"),
    )
    tmux.start(f"{kwaak_command()} -s; echo KWAAK_EXIT=$?; sleep 60", width=80, height=24)
    tmux.wait_for("Send a message to an agent")
    tmux.keys("run the broken command", "C-s")
    screen = tmux.wait_for("tmux-e2e-failed")
    assert "running shell command `echo tmux-broken; exit 3` ✗ exit 3" in screen
    assert "✓" not in screen.split("exit 3`", 1)[1].splitlines()[0]
    assert "^b chats" in screen  # 80 columns: the sidebar collapsed to the chat strip
    tmux.wait_for("✓ Kwek")  # the agent finished (it stops after its answer)
    tmux.keys("C-q")
    tmux.wait_for("KWAAK_EXIT=0", timeout=15)
