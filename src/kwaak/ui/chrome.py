"""The frame around the transcript: header with tabs, chat list, help sidebar and status bar.

These widgets render from attributes the app sets (``chats``, ``current``, ``frame``...) and post
messages up when clicked; they hold no logic of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual.events import Click
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from kwaak import protocol as p
from kwaak.ui.commands import COMMANDS, KEYBINDINGS
from kwaak.ui.state import ChatState, format_tokens, format_usage

Mode = Literal["chats", "logs"]


class HeaderBar(Widget):
    """``kwaak <version>`` on the left, the ``[F1] Chats  [F2] Logs`` tabs on the right."""

    mode: reactive[Mode] = reactive[Mode]("chats")

    class TabClicked(Message):
        """The user clicked a tab."""

        def __init__(self, mode: Mode) -> None:
            super().__init__()
            self.mode = mode

    def __init__(self, version: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.version = version

    def render(self) -> RenderableType:
        """Name and version, and the tabs with the active one highlighted."""
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1)
        grid.add_column(justify="right")
        title = Text.assemble((" kwaak ", "bold yellow"), (self.version, "dim"))
        grid.add_row(title, self._tabs())
        return grid

    def _tabs(self) -> Text:
        def tab(key: str, label: str, mode: Mode) -> tuple[str, str]:
            style = "bold reverse yellow" if self.mode == mode else "dim"
            return (f" [{key}] {label} ", style)

        return Text.assemble(tab("F1", "Chats", "chats"), " ", tab("F2", "Logs", "logs"), " ")

    def on_click(self, event: Click) -> None:
        """Clicking the right end switches tabs."""
        tabs_start = self.size.width - len(self._tabs())
        if event.x >= tabs_start:
            middle = tabs_start + len(self._tabs()) // 2
            self.post_message(self.TabClicked("chats" if event.x < middle else "logs"))


class ChatList(Widget):
    """The "Chats" box: one line per chat with its state icon and unread count."""

    class Selected(Message):
        """The user clicked a chat."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.chats: Sequence[ChatState] = ()
        self.current = 0
        self.frame = 0
        self.border_title = "Chats"

    def show(self, chats: Sequence[ChatState], current: int, frame: int) -> None:
        """Re-render with this state."""
        self.chats, self.current, self.frame = chats, current, frame
        self.refresh(layout=True)

    def render(self) -> RenderableType:
        """The list; the current chat highlighted."""
        width = max(8, self.content_size.width)
        text = Text(no_wrap=True, overflow="ellipsis")
        for index, chat in enumerate(self.chats):
            line = chat.list_line(self.frame, width=width)
            if index == self.current:
                line.pad_right(width - line.cell_len)
                line.stylize("bold yellow on grey23")
            text.append_text(line)
            if index < len(self.chats) - 1:
                text.append("\n")
        return text

    def on_click(self, event: Click) -> None:
        """Select the clicked chat."""
        if 0 <= event.y < len(self.chats):
            self.post_message(self.Selected(event.y))


class ChatStrip(Widget):
    """The chats on one line, shown instead of the sidebar on narrow terminals (ctrl-b toggles)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.chats: Sequence[ChatState] = ()
        self.current = 0
        self.frame = 0
        self._spans: list[tuple[int, int]] = []
        """Cell ranges of each chat in the last render (for clicks)."""

    def show(self, chats: Sequence[ChatState], current: int, frame: int) -> None:
        """Re-render with this state."""
        self.chats, self.current, self.frame = chats, current, frame
        self.refresh()

    def render(self) -> RenderableType:
        """``⠋ 1 Fix the…  ✓ 2 Tests done``, the current chat highlighted; ^b for the full list."""
        text = Text(no_wrap=True, overflow="ellipsis")
        width = max(12, min(28, self.size.width // max(1, len(self.chats)) - 1))
        self._spans = []
        for index, chat in enumerate(self.chats):
            line = chat.list_line(self.frame, width=width)
            if index == self.current:
                line.stylize("bold yellow on grey23")
            self._spans.append((text.cell_len, text.cell_len + line.cell_len))
            text.append_text(line)
            text.append("  ")
        text.append("^b chats", style="dim")
        return text

    def on_click(self, event: Click) -> None:
        """Select the clicked chat."""
        for index, (start, end) in enumerate(self._spans):
            if start <= event.x < end:
                self.post_message(ChatList.Selected(index))


class HelpPanel(Widget):
    """Chat commands in two columns and the key bindings."""

    def render(self) -> RenderableType:
        """A static cheat sheet."""
        commands = Table.grid(padding=(0, 1), expand=True)
        commands.add_column(ratio=1)
        commands.add_column(ratio=1)
        names = [f"/{doc.name}" for doc in COMMANDS]
        half = (len(names) + 1) // 2
        rights = names[half:] + [""] * (2 * half - len(names))
        for left, right in zip(names[:half], rights, strict=True):
            commands.add_row(left, right)
        keys = Text("\n".join(f"{key} - {what}" for key, what in KEYBINDINGS))
        table = Table.grid(expand=True)
        table.add_row(Text("Chat commands", style="bold"))
        table.add_row(commands)
        table.add_row(Text(""))
        table.add_row(Text("Keybindings", style="bold"))
        table.add_row(keys)
        return table


class StatusBar(Widget):
    """The current chat at a glance: model, branch, context, cost, team cost and a short session id.

    Right-aligned, dim italic; on narrow terminals the least important parts are dropped first
    (team usage, tokens, context), so model, branch and cost stay visible.
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.chat: ChatState | None = None
        self.team = p.UsageInfo()

    def show(self, chat: ChatState | None, team: p.UsageInfo) -> None:
        """Re-render for this chat and the team's usage."""
        self.chat, self.team = chat, team
        self.refresh()

    def parts(self, *, compact: bool = False) -> list[str]:
        """The status items, most important first (``compact``: symbols instead of labels)."""
        if self.chat is None:
            return []
        chat = self.chat
        usage = chat.usage
        labels = ("", "⎇ ", "ctx ", "", "#") if compact else ("model: ", "branch: ", "context: ", "cost: ", "id: ")
        model, branch, context, cost, short_id = labels
        parts = [
            f"{branch}{chat.branch or 'not yet named'}",
            f"{cost}${usage.cost_usd:.4f}",
            f"{short_id}{chat.session_id[:8]}",
        ]
        if chat.context:  # the context meter (filled in from the backend's usage events)
            parts.insert(1, f"{context}{chat.context}")
        if chat.model:  # known once the agent started
            parts.insert(0, f"{model}{chat.model}")
        parts.append(f"tokens: {format_tokens(usage.input_tokens)}↑ {format_tokens(usage.output_tokens)}↓")
        parts.append(f"team: {format_usage(self.team)}")
        return parts

    def render(self) -> RenderableType:
        """The status line: labelled when the essentials fit, else compact, cut from the least important end."""
        width = (self.size.width or 200) - 1
        parts = self.parts()
        essentials = len(parts) - 2
        if len("   ".join(parts[:essentials])) > width:
            parts = self.parts(compact=True)
        while len(parts) > 1 and len("   ".join(parts)) > width:
            parts.pop()
        line = "   ".join(parts)
        return Text(line, style="italic grey50", justify="right", no_wrap=True, overflow="ellipsis")
