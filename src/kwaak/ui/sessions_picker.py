"""``/sessions``: every stored session of this repository, to open, resume or delete.

The list comes from the backend (:class:`kwaak.protocol.ListSessions`); each row shows the origin
(``tui``, ``run-agent``, ``batch``), status, branch, age and usage. Enter opens a session as a
chat tab (or switches to it), ``r`` opens it and retries its last step, ``d`` twice deletes it,
Escape closes the picker. Sessions of another live kwaak process are marked "in use by pid N"
and cannot be opened or deleted here.
"""

from __future__ import annotations

import time
from typing import Literal

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from kwaak import protocol as p
from kwaak.textsafe import one_line
from kwaak.ui.state import format_tokens

PickerAction = Literal["open", "resume", "delete"]
HELP = "enter open · r resume · d delete · esc close"


def age(seconds: float) -> str:
    """``45s``, ``12m``, ``3h``, ``5d``."""
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def status_cell(info: p.StoredSession) -> str:
    """The status, with who owns the session when another process does."""
    if info.owner_pid is not None:
        return f"{info.status} (in use by pid {info.owner_pid})"
    if info.open_here:
        return f"{info.status} (open)"
    return info.status


class SessionsScreen(ModalScreen[tuple[PickerAction, str] | None]):
    """The session picker (dismissed with the chosen action and session id, or ``None``)."""

    DEFAULT_CSS = """
    SessionsScreen { align: center middle; }
    #sessions-box { width: 96%; height: 80%; border: round $accent; background: $surface; padding: 0 1; }
    #sessions-title { text-style: bold; padding-bottom: 1; }
    #sessions-table { height: 1fr; }
    #sessions-help { color: $text-muted; padding-top: 1; }
    """
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("enter", "choose('open')", "Open", priority=True),
        Binding("r", "choose('resume')", "Resume"),
        Binding("d", "choose('delete')", "Delete"),
    ]

    def __init__(self) -> None:
        super().__init__(id="sessions-picker")
        self.sessions: list[p.StoredSession] = []
        self._armed_delete: str | None = None
        self.loaded = False
        self.help_text = "Loading ..."

    def compose(self) -> ComposeResult:
        """A title, the table and a key help line."""
        with Vertical(id="sessions-box"):
            yield Static("Sessions in this repository", id="sessions-title")
            yield DataTable(id="sessions-table", cursor_type="row", zebra_stripes=True)
            yield Static(self.help_text, id="sessions-help")

    def on_mount(self) -> None:
        """Set up the columns."""
        table = self.query_one(DataTable)
        table.add_columns("id", "title", "origin", "status", "age", "usage", "branch")
        table.focus()

    def show(self, sessions: tuple[p.StoredSession, ...], *, now: float | None = None) -> None:
        """Fill the table (newest last, like ``kwaak sessions``)."""
        now = time.time() if now is None else now
        self.sessions = list(sessions)
        table = self.query_one(DataTable)
        table.clear()
        for info in self.sessions:
            usage = f"{format_tokens(info.tokens)} tok ${info.cost_usd:.4f}"
            when = age(now - info.updated_at) if info.updated_at else "-"
            title = one_line(info.title or info.problem or "(untitled)")  # titles come from the model
            title = title if len(title) <= 32 else title[:31] + "…"
            cells = (info.session_id[:8], title, info.origin, status_cell(info), when, usage, info.branch or "-")
            table.add_row(
                *(Text(one_line(cell)) for cell in cells),  # plain text: never parsed as markup
                key=info.session_id,
            )
        self._say(HELP if self.sessions else "No saved sessions in this repository yet · esc close")
        self._armed_delete = None
        self.loaded = True

    def _say(self, text: str) -> None:
        self.help_text = text
        self.query_one("#sessions-help", Static).update(Text(one_line(text)))

    @property
    def selected(self) -> p.StoredSession | None:
        """The session under the cursor."""
        table = self.query_one(DataTable)
        if not self.sessions or table.cursor_row < 0 or table.cursor_row >= len(self.sessions):
            return None
        return self.sessions[table.cursor_row]

    def action_choose(self, action: PickerAction) -> None:
        """Open, resume or (after a second ``d``) delete the selected session."""
        info = self.selected
        if info is None:
            return
        if info.owner_pid is not None:
            self._say(f"{info.session_id[:8]} is in use by pid {info.owner_pid}: switch to that kwaak")
            return
        if info.status == "damaged" and action != "delete":
            self._say(info.problem or "this session is damaged")
            return
        if action == "delete" and self._armed_delete != info.session_id:
            self._armed_delete = info.session_id
            self._say(f"Press d again to delete {info.session_id[:8]} and its worktree (its branch is kept)")
            return
        self.dismiss((action, info.session_id))

    def action_close(self) -> None:
        """Close without choosing."""
        self.dismiss(None)
