"""The input box: a multi-line text area with slash-command completion.

Typing ``/`` opens a menu of matching commands above the box; ↑/↓ choose, Tab or Enter complete,
Esc closes it. Sending (ctrl-s, or ctrl/shift-enter where the terminal reports them) posts
:class:`ChatInput.Submitted` with the trimmed text and clears the box.

A paste of :data:`PASTE_COLLAPSE_LINES` lines or more is shown in the box (and later in the
transcript) as ``[pasted N lines #k]``; the message sent to the agent has the full text.
"""

from __future__ import annotations

import re

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList, TextArea
from textual.widgets.option_list import Option

from kwaak.ui.commands import complete

PLACEHOLDER = "Send a message to an agent ..."
SCROLL_LINES = 2
"""Lines ↑/↓ scroll the transcript when the input is empty."""
PASTE_COLLAPSE_LINES = 10
"""Pastes with at least this many lines are collapsed to a placeholder."""
_PASTE_TOKEN = re.compile(r"\[pasted \d+ lines #(\d+)\]")


class CommandMenu(OptionList):
    """Completion candidates for a slash command."""

    def show_for(self, typed: str) -> None:
        """List the commands matching ``typed``; hide when there are none."""
        matches = complete(typed)
        if [m.name for m in matches] == [str(o.id) for o in self.options] and self.display == bool(matches):
            return
        self.set_options(Option(f"/{doc.name}  [dim]{doc.summary}[/]", id=doc.name) for doc in matches)
        self.display = bool(matches)
        if matches:
            self.highlighted = 0

    @property
    def chosen(self) -> str | None:
        """The highlighted command name."""
        if not self.display or self.highlighted is None:
            return None
        return str(self.get_option_at_index(self.highlighted).id)


class ChatInput(TextArea):
    """The text area; ↑/↓/Tab/Enter drive the menu while it is open."""

    BINDINGS = [
        Binding("ctrl+enter,shift+enter,ctrl+j", "submit", "Send", show=False),
        Binding("escape", "close_menu", show=False),
    ]

    class Submitted(Message):
        """The user sent the text (``shown``: how the transcript shows it, pastes collapsed)."""

        def __init__(self, text: str, shown: str | None = None) -> None:
            super().__init__()
            self.text = text
            self.shown = shown if shown is not None else text

    class Interrupt(Message):
        """Esc with no completion menu open: interrupt the agent."""

    class ScrollToEnd(Message):
        """End was pressed in an empty box: scroll the transcript to the end."""

    class ScrollChat(Message):
        """↑/↓ in an empty box: scroll the transcript by ``lines`` (kwaak's arrow keys)."""

        def __init__(self, lines: int) -> None:
            super().__init__()
            self.lines = lines

    def __init__(self, menu: CommandMenu, *, id: str | None = None) -> None:
        super().__init__(id=id, placeholder=PLACEHOLDER, soft_wrap=True, tab_behavior="focus")
        self.menu = menu
        self.pastes: dict[int, str] = {}
        """Collapsed pastes by number."""

    def action_submit(self) -> None:
        """Post the trimmed text (if any, with pastes expanded) and clear the box."""
        shown = self.text.strip()
        self.menu.display = False
        if shown:
            text = _PASTE_TOKEN.sub(lambda m: self.pastes.get(int(m.group(1)), m.group(0)), shown)
            self.clear()
            self.pastes.clear()
            self.post_message(self.Submitted(text.strip(), _PASTE_TOKEN.sub(_short_token, shown)))

    async def _on_paste(self, event: events.Paste) -> None:
        # Runs before TextArea._on_paste (MRO dispatch), which prevent_default skips.
        lines = event.text.count("\n") + 1
        if lines >= PASTE_COLLAPSE_LINES and not self.read_only:
            event.prevent_default()
            event.stop()
            number = len(self.pastes) + 1
            self.pastes[number] = event.text
            self.insert(f"[pasted {lines} lines #{number}]")

    def action_close_menu(self) -> None:
        """Hide the completion menu; with none open, Esc interrupts the agent."""
        if self.menu.display:
            self.menu.display = False
        else:
            self.post_message(self.Interrupt())

    def action_cursor_up(self, select: bool = False) -> None:
        """Move in the menu while it is open."""
        if self.menu.display and not select:
            self.menu.action_cursor_up()
        elif not self.text and not select:
            self.post_message(self.ScrollChat(-SCROLL_LINES))
        else:
            super().action_cursor_up(select)

    def action_cursor_down(self, select: bool = False) -> None:
        """Move in the menu while it is open."""
        if self.menu.display and not select:
            self.menu.action_cursor_down()
        elif not self.text and not select:
            self.post_message(self.ScrollChat(SCROLL_LINES))
        else:
            super().action_cursor_down(select)

    def action_cursor_line_end(self, select: bool = False) -> None:
        """End in an empty box scrolls the transcript to the end (kwaak's End key)."""
        if not self.text and not select:
            self.post_message(self.ScrollToEnd())
        else:
            super().action_cursor_line_end(select)

    async def _on_key(self, event: events.Key) -> None:
        # Textual also runs TextArea._on_key (MRO dispatch) unless the default is prevented.
        if self.menu.display and event.key in ("tab", "enter"):
            event.prevent_default()
            event.stop()
            self._accept()

    def _accept(self) -> None:
        name = self.menu.chosen
        self.menu.display = False
        if name is not None:
            self.text = f"/{name} "
            self.move_cursor(self.document.end)


def _short_token(match: re.Match[str]) -> str:
    return match.group(0).rsplit(" #", 1)[0] + "]"


class Composer(Vertical):
    """The completion menu stacked on the input box."""

    def compose(self) -> ComposeResult:
        """The menu (hidden until ``/``) and the text area."""
        menu = CommandMenu(id="command-menu")
        menu.display = False
        menu.can_focus = False
        yield menu
        yield ChatInput(menu, id="chat-input")

    @property
    def input(self) -> ChatInput:
        """The text area."""
        return self.query_one(ChatInput)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        """Open, update or close the menu as the user types."""
        self.query_one(CommandMenu).show_for(event.text_area.text)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """A click on a candidate completes it."""
        event.stop()
        self.input.focus()
        self.input._accept()
