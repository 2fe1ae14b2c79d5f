"""The start-up screen shown while the repository is indexed (skipped with ``-s``)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import ProgressBar, Static

LOGO = r"""
   __                           __
  / /____      ____ _____ _____/ /__
 / //_/ | /| / / __ `/ __ `/ __  //_/
/ ,<  | |/ |/ / /_/ / /_/ / /_/ ,<
/_/|_| |__/|__/\__,_/\__,_/\__/_/|_|

        >(.)__   kwek kwek
         (___/
"""


class SplashScreen(Screen[None]):
    """Logo, a progress bar and the latest indexing message."""

    def __init__(self, version: str) -> None:
        super().__init__(id="splash")
        self.version = version

    def compose(self) -> ComposeResult:
        """Centered logo, version, progress bar and status line."""
        with Middle(), Center():
            yield Static(LOGO, id="splash-logo")
        with Center():
            yield Static(f"kwaak {self.version}", id="splash-version")
        with Center():
            yield ProgressBar(id="splash-progress", show_eta=False)
        with Center():
            yield Static("Preparing the code index ...", id="splash-message")

    def progress(self, done: int, total: int, message: str) -> None:
        """Show indexing progress."""
        bar = self.query_one(ProgressBar)
        if total > 0:
            bar.update(total=total, progress=done)
        self.activity(message)

    def activity(self, text: str) -> None:
        """Show the latest status message."""
        self.query_one("#splash-message", Static).update(text)
