"""End to end in tmux: three chats, quit (exit summary on the normal screen), restart (one transcript at a time)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import git
from tests.scripted import write_scripted_config
from tests.ui.test_tmux import Tmux, kwaak_command

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


def wait_until(terminal: Tmux, ready: Callable[[str], bool], *, timeout: float = 60.0) -> str:
    """Wait until the screen satisfies ``ready``."""
    deadline = time.monotonic() + timeout
    while not ready(screen := terminal.screen()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not ready after {timeout}s:\n{screen}")
        time.sleep(0.1)
    return screen


@pytest.fixture
def terminals(tmp_git_repo: Path) -> Iterator[list[Tmux]]:
    made: list[Tmux] = []
    yield made
    for terminal in made:
        terminal.kill()


def test_restart_shows_one_transcript_at_a_time_and_quit_prints_a_summary(
    tmp_git_repo: Path, terminals: list[Tmux]
) -> None:
    cfg = write_scripted_config(tmp_git_repo, [], name="tmux", extra="[git]\nauto_push_remote = false")
    command = f"{kwaak_command()} -c {cfg} -s; echo KWAAK_EXIT=$?; sleep 60"
    first = Tmux(tmp_git_repo)
    terminals.append(first)
    first.start(command)
    first.wait_for("Send a message to an agent")
    for n, task in enumerate(("alpha task", "bravo task", "charlie task")):
        if n:
            first.keys("C-n")
            first.wait_for("Chat #")
        first.keys(task, "C-s")
        first.wait_for(f"▶ {task}")
        wait_until(first, lambda screen, done=n + 1: screen.count("✓ Kwek") >= done)  # the chat strip
    first.keys("C-q")
    screen = first.wait_for("KWAAK_EXIT=0", timeout=20)
    assert "kwaak: 3 session(s) saved" in screen  # printed after the TUI left the alternate screen
    assert screen.count(" done ") >= 3 and "kwaak sessions resume <id>" in screen

    second = Tmux(tmp_git_repo)
    terminals.append(second)
    second.start(command)
    screen = second.wait_for("Restored from the last run", timeout=60)
    assert "▶ alpha task" in screen
    assert "▶ bravo task" not in screen and "▶ charlie task" not in screen  # not drawn on top of each other
    second.keys("Tab")
    screen = second.wait_for("▶ bravo task")
    assert "▶ alpha task" not in screen and "▶ charlie task" not in screen
    assert "Chat #" not in screen  # no blank chat was added next to the restored ones
    second.keys("C-q")
    second.wait_for("KWAAK_EXIT=0", timeout=20)


def test_a_second_tui_sees_the_first_ones_sessions_as_in_use_and_leaves_its_worktree(
    tmp_git_repo: Path, terminals: list[Tmux]
) -> None:
    cfg = write_scripted_config(tmp_git_repo, [], name="tmux", extra="[git]\nauto_push_remote = false")
    command = f"{kwaak_command()} -c {cfg} -s; echo KWAAK_EXIT=$?; sleep 60"
    first, second = Tmux(tmp_git_repo), Tmux(tmp_git_repo)
    terminals += [first, second]
    first.start(command)
    first.wait_for("Send a message to an agent")
    first.keys("alpha task", "C-s")
    wait_until(first, lambda screen: "✓ Kwek" in screen)  # the chat strip: the agent finished
    worktrees = git(tmp_git_repo, "worktree", "list")
    assert len(worktrees.splitlines()) == 2  # the first TUI's agent has its worktree

    second.start(command)
    screen = second.wait_for("Send a message to an agent", timeout=60)
    assert "Restored from the last run" not in screen and "alpha task" not in screen
    second.keys("/sessions", "C-s")
    screen = second.wait_for("in use by pid")
    assert "tui" in screen
    second.keys("Enter")  # opening a session another kwaak owns is refused
    second.wait_for("switch to that kwaak")
    second.keys("Escape")
    second.keys("C-q")
    second.wait_for("KWAAK_EXIT=0", timeout=20)
    assert git(tmp_git_repo, "worktree", "list") == worktrees  # quitting the second left the first's alone

    first.keys("C-q")
    first.wait_for("KWAAK_EXIT=0", timeout=20)
    assert len(git(tmp_git_repo, "worktree", "list").splitlines()) == 1
