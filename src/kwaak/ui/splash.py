"""The start-up screen shown while the repository is indexed (skipped with ``-s``)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import ProgressBar, Static

LOGO = r"""
 _                             _
| | ____      __  __ _   __ _ | | __
| |/ /\ \ /\ / / / _` | / _` || |/ /
|   <  \ V  V / | (_| || (_| ||   <
|_|\_\  \_/\_/   \__,_| \__,_||_|\_\

      >(.)__  <(kwek kwek)
       (___/
"""


class SplashScreen(Screen[None]):
    """Logo, a progress bar and the latest indexing message; Esc continues without waiting."""

    BINDINGS = [Binding("escape", "skip", "Continue", show=False)]

    class Skip(Message):
        """The user does not want to wait for the index."""

    def __init__(self, version: str) -> None:
        super().__init__(id="splash")
        self.version = version

    def compose(self) -> ComposeResult:
        """Centered logo, version, progress bar and status line."""
        with Vertical(id="splash-box"):
            yield Center(Static(LOGO, id="splash-logo"))
            yield Center(Static(f"kwaak {self.version}", id="splash-version"))
            yield Center(ProgressBar(id="splash-progress", show_eta=False))
            yield Center(Static("Preparing the code index ...", id="splash-message"))
            yield Center(Static("esc: continue while indexing goes on", id="splash-hint"))

    def action_skip(self) -> None:
        """Esc: open the chats now; indexing finishes in the background."""
        self.post_message(self.Skip())

    def progress(self, done: int, total: int, message: str) -> None:
        """Show indexing progress."""
        bar = self.query_one(ProgressBar)
        if total > 0:
            bar.update(total=total, progress=done)
        self.activity(message)

    def activity(self, text: str) -> None:
        """Show the latest status message."""
        self.query_one("#splash-message", Static).update(text)
