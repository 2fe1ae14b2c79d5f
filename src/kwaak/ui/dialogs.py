"""Small modal questions: "Quit while agents are working?"."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmQuit(ModalScreen[bool]):
    """Asks before quitting with agents running; dismisses with ``True`` to quit."""

    AUTO_FOCUS = "#quit-no"
    BINDINGS = [
        Binding("y,ctrl+q", "answer(True)", "Quit", priority=True),
        Binding("n,escape", "answer(False)", "Cancel", priority=True),
    ]

    def __init__(self, working: list[str]) -> None:
        super().__init__(id="confirm-quit")
        self.working = working

    def compose(self) -> ComposeResult:
        """The question, who is working, and the two buttons."""
        with Vertical(id="confirm-box"):
            yield Static(self._question(), id="confirm-question")
            yield Static("Quit anyway? Their work so far is committed to their branches.")
            with Horizontal(id="confirm-buttons"):
                yield Button("Quit (y)", variant="error", id="quit-yes")
                yield Button("Keep working (n)", variant="primary", id="quit-no")

    def _question(self) -> str:
        count = len(self.working)
        names = ", ".join(self.working[:3]) + (" ..." if count > 3 else "")
        agents = "1 agent is" if count == 1 else f"{count} agents are"
        return f"{agents} still working ({names})."

    def update_working(self, working: list[str]) -> None:
        """Agents finished while the question is open: once none works, quit as asked (nothing is lost)."""
        if working == self.working:
            return
        self.working = working
        if not working:
            self.dismiss(True)
            return
        self.query_one("#confirm-question", Static).update(self._question())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """A click on a button answers."""
        self.dismiss(event.button.id == "quit-yes")

    def action_answer(self, quit_now: bool) -> None:
        """``y``/ctrl-q quit; ``n``/Esc keep working."""
        self.dismiss(quit_now)
