"""A6.6: the real TUI in tmux. A model reply and a tool's output carry OSC 0 (window title),
OSC 52 (clipboard) and CSI 2J; tmux's pane title and paste buffers show whether any reached the
terminal raw. A control run of `printf` in the same tmux proves the detection works.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.provider_server import FakeProviderServer, reply, tool_call
from tests.ui.test_tmux import Tmux, kwaak_command, write_config

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]

OSC_TITLE = "\x1b]0;PWNED-TITLE\x07"
OSC_CLIPBOARD = "\x1b]52;c;UFdORUQtQ0xJUA==\x07"  # "PWNED-CLIP"
PRINTF = r"printf 'tool-out \033]0;PWNED-TITLE\007\033]52;c;UFdORUQtQ0xJUA==\007\033[2J done\n'"


@pytest.fixture
def tmux(tmp_git_repo: Path) -> Iterator[Tmux]:
    session = Tmux(tmp_git_repo)
    yield session
    session.kill()


def _title_and_buffers(tmux: Tmux, target: str) -> tuple[str, str]:
    title = tmux.run("display-message", "-p", "-t", target, "#{pane_title}")
    buffers = tmux.run("list-buffers", "-F", "#{buffer_sample}")
    return title, buffers


def test_a6_6_tui_in_tmux_sends_no_escape_sequence_from_the_model(tmux: Tmux, tmp_git_repo: Path) -> None:
    with FakeProviderServer() as provider:
        write_config(tmp_git_repo, provider.url)
        provider.enqueue(
            tool_call("shell_command", cmd=PRINTF),
            reply(f"All done {OSC_TITLE}{OSC_CLIPBOARD}\x1b[2J\x9b2J tmux-a6-done"),
        )
        tmux.start(f"{kwaak_command()} -s; echo KWAAK_EXIT=$?; sleep 60")
        tmux.run("set-option", "-g", "set-clipboard", "on")  # OSC 52 from the pane would fill a buffer
        tmux.run("set-option", "-g", "allow-rename", "on")
        tmux.wait_for("Send a message to an agent")
        tmux.keys(f"print things {OSC_TITLE}", "C-s")
        screen = tmux.wait_for("tmux-a6-done")
        time.sleep(0.5)
        title, buffers = _title_and_buffers(tmux, "e2e")
        assert "PWNED" not in title, title
        assert "PWNED" not in buffers, buffers
        assert "\\x1b]0;PWNED-TITLE\\x07" in screen  # shown as text instead
        tmux.keys("C-q")
        tmux.wait_for("KWAAK_EXIT=0", timeout=15)
    # The control: the same bytes printed raw do change the title and fill a buffer.
    tmux.run("new-window", "-d", "-t", "e2e", "-n", "raw", PRINTF + "; sleep 30")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        title, buffers = _title_and_buffers(tmux, "e2e:raw")
        if "PWNED" in title and "PWNED" in buffers:
            break
        time.sleep(0.1)
    assert "PWNED-TITLE" in title and "PWNED-CLIP" in buffers, (title, buffers)
