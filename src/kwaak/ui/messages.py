"""The widgets of a chat transcript: one per message, tool call or diff.

Each widget keeps its own small state and renders it in ``render`` (so it can be updated before it
is mounted). Role prefixes and colours follow kwaak: ``▶`` user (cyan italic), ``✦`` assistant
(lavender bold), ``ℹ`` system (dim), ``!`` warnings (yellow), ``✗`` errors (red), ``»`` command
(magenta bold), ``⚙`` tool calls (dim while running, green ``✓`` when done, red ``✗`` with the exit
code when the tool failed or its command exited non-zero; test counts when the runner printed them).

Assistant replies stream as plain text and are rendered as Markdown once, when complete (Textual's
Markdown widget is too slow for long transcripts; a rich ``Markdown`` in a plain widget is not).
"""

from __future__ import annotations

import json
from typing import Literal

from rich.console import Group, RenderableType
from rich.markdown import Markdown
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.events import Click
from textual.reactive import reactive
from textual.widget import Widget

from kwaak.textsafe import escape_controls, one_line

USER_STYLE = "italic cyan"
ASSISTANT_STYLE = "bold rgb(200,160,255)"
COMMAND_STYLE = "bold bright_magenta"
SYSTEM_STYLES = {"info": "dim", "warning": "yellow", "error": "bold red"}
SYSTEM_ICONS = {"info": "ℹ ", "warning": "! ", "error": "✗ "}
MAX_OUTPUT_LINES = 60
MAX_ARGUMENT_CHARS = 2_000
DETAIL_INDENT = 5
"""Columns the expanded arguments and output of a tool call are indented by."""


def prefixed(prefix: str, style: str, body: RenderableType) -> Table:
    """Put ``prefix`` left of ``body`` so that wrapped lines stay indented."""
    grid = Table.grid(padding=0, expand=True)
    grid.add_column(width=2, no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_row(Text(prefix, style=style), body)
    return grid


def clip_lines(text: str, limit: int = MAX_OUTPUT_LINES) -> str:
    """Keep the first ``limit`` lines and say how many were left out."""
    lines = text.splitlines()
    if len(lines) <= limit:
        return text
    return "\n".join([*lines[:limit], f"... ({len(lines) - limit} more lines)"])


class ChatEntry(Widget):
    """Base class of transcript entries (styled in ``app.tcss``)."""

    DEFAULT_CLASSES = "entry"


class UserEntry(ChatEntry):
    """``▶ <text>``: a message the user sent (long pastes shown as ``[pasted N lines]``)."""

    def __init__(self, text: str, *, shown: str | None = None) -> None:
        super().__init__(classes="user")
        self.text = text
        """What the agent got."""
        self.shown = shown if shown is not None else text
        """What the transcript shows."""

    def render(self) -> RenderableType:
        """The message in the user's colour."""
        return prefixed("▶ ", USER_STYLE, Text(escape_controls(self.shown), style=USER_STYLE))


class CommandEntry(ChatEntry):
    """``» <command>``: a slash command the user ran."""

    def __init__(self, label: str) -> None:
        super().__init__(classes="command")
        self.label = label

    def render(self) -> RenderableType:
        """The command name."""
        return prefixed("» ", COMMAND_STYLE, Text(escape_controls(self.label), style=COMMAND_STYLE))


class SystemEntry(ChatEntry):
    """``ℹ <text>``: a message from kwaak (results, warnings, errors with a hint)."""

    def __init__(
        self,
        text: str,
        *,
        level: Literal["info", "warning", "error"] = "info",
        hint: str | None = None,
        markdown: bool = False,
    ) -> None:
        super().__init__(classes=f"system -{level}")
        self.text = text
        self.level = level
        self.hint = hint
        self.markdown = markdown

    def render(self) -> RenderableType:
        """The text, in the level's style, and the hint below it."""
        style = SYSTEM_STYLES[self.level]
        text = escape_controls(self.text)
        body: RenderableType = Markdown(text) if self.markdown else Text(text, style=style)
        if self.hint:
            body = Group(body, Text(f"hint: {escape_controls(self.hint)}", style="italic"))
        return prefixed(SYSTEM_ICONS[self.level], style, body)


class AssistantEntry(ChatEntry):
    """``✦ <reply>``: plain text while streaming, Markdown once complete."""

    def __init__(self, message_id: str) -> None:
        super().__init__(classes="assistant")
        self.message_id = message_id
        self._parts: list[str] = []
        self._final: str | None = None

    @property
    def text(self) -> str:
        """The reply so far (or the final text)."""
        return self._final if self._final is not None else "".join(self._parts)

    def append(self, delta: str) -> None:
        """Add a streamed fragment (call :meth:`refresh` once per batch)."""
        self._parts.append(delta)

    def complete(self, text: str) -> None:
        """Set the final text; it is now rendered as Markdown."""
        self._final = text
        self._parts = []
        self.refresh(layout=True)

    def render(self) -> RenderableType:
        """Plain text while streaming, Markdown when complete."""
        if self._final is None:
            return prefixed("✦ ", ASSISTANT_STYLE, Text(escape_controls("".join(self._parts))))
        return prefixed("✦ ", ASSISTANT_STYLE, Markdown(escape_controls(self._final)))


ToolState = Literal["running", "ok", "failed", "interrupted"]


class ToolCallEntry(ChatEntry, can_focus=True):
    """``⚙ <summary>``: a tool call; click, Enter (when focused) or ctrl-o shows its arguments and output."""

    BINDINGS = [Binding("enter", "toggle_details", "Expand", show=False)]
    expanded: reactive[bool] = reactive(False, layout=True)

    def __init__(self, call_id: str, *, name: str, summary: str, arguments: str = "") -> None:
        super().__init__(classes="tool")
        self.call_id = call_id
        self.tool_name = name
        self.summary = one_line(summary)
        self.arguments = arguments
        self.state: ToolState = "running"
        self.output = ""
        self.exit_code: int | None = None
        self.outcome: str | None = None

    def finish(self, *, ok: bool, output: str, exit_code: int | None = None, outcome: str | None = None) -> None:
        """Mark the call done (✓) or failed (✗: the tool failed or its command exited non-zero)."""
        failed = not ok or bool(exit_code)
        self.state = "failed" if failed else "ok"
        self.output = output
        self.exit_code = exit_code
        self.outcome = outcome
        self.set_class(failed, "-failed")
        self.refresh(layout=True)

    def interrupt(self) -> None:
        """The turn ended (stopped, failed) before this call finished."""
        if self.state == "running":
            self.state = "interrupted"
            self.refresh(layout=True)

    def action_toggle_details(self) -> None:
        """Show or hide the arguments and output."""
        self.expanded = not self.expanded

    def on_click(self, event: Click) -> None:
        """Clicking toggles the details."""
        event.stop()
        self.action_toggle_details()

    @property
    def line(self) -> Text:
        """The one-line summary: ``⚙ <what> ✓`` / ``✗ exit N (counts)``."""
        return self._line()

    def render(self) -> RenderableType:
        """The summary line (wrapped lines indented), then the details when expanded."""
        line = self._line()
        head, body = line[:3], line[3:]
        grid = Table.grid(padding=0, expand=True)
        grid.add_column(width=3, no_wrap=True)
        grid.add_column(ratio=1)
        grid.add_row(head, body)
        if not self.expanded:
            return grid
        return Group(grid, *self._details())

    def _line(self) -> Text:
        marker = "▾ " if self.expanded else "  "
        match self.state:
            case "running":
                return Text.assemble(("⚙", "dim"), (marker, "dim"), (self.summary, "dim"))
            case "ok":
                line = Text.assemble(("⚙", "green dim"), (marker, "dim"), (self.summary, "green dim"), (" ✓", "green"))
                if self.outcome:
                    line.append(f" {self.outcome}", style="green")
                return line
            case "interrupted":
                return Text.assemble(
                    ("⚙", "yellow"), (marker, "dim"), (self.summary, "yellow"), (" ■ interrupted", "yellow")
                )
            case "failed":
                line = Text.assemble(("⚙", "red"), (marker, "dim"), (self.summary, "red"), (" ✗", "bold red"))
                if self.exit_code:
                    line.append(f" exit {self.exit_code}", style="bold red")
                if self.outcome:
                    line.append(f" ({self.outcome})", style="red")
                return line

    def _details(self) -> list[RenderableType]:
        parts: list[RenderableType] = [_indented(f"tool: {one_line(self.tool_name)}")]
        if self.arguments.strip() not in ("", "{}"):
            parts += [_indented("arguments:"), _indented(_pretty_json(self.arguments), DETAIL_INDENT + 2)]
        if self.state in ("running", "interrupted"):
            parts.append(_indented(f"({self.state})", style="dim italic"))
        else:
            parts += [
                _indented("output:"),
                _indented(escape_controls(clip_lines(self.output)) or "(empty)", DETAIL_INDENT + 2),
            ]
        return parts


def _indented(text: str, indent: int = DETAIL_INDENT, *, style: str = "dim") -> RenderableType:
    """Details under a tool line, indented so wrapped lines stay inside the block."""
    return Padding(Text(text, style=style), (0, 0, 0, indent))


def _pretty_json(arguments: str) -> str:
    try:
        text = json.dumps(json.loads(arguments), indent=2, ensure_ascii=False)
    except ValueError:
        text = arguments
    if len(text) > MAX_ARGUMENT_CHARS:
        text = text[:MAX_ARGUMENT_CHARS] + " ..."
    return escape_controls(text)


class DiffEntry(ChatEntry):
    """The agent's diff, coloured like ``git diff --color``."""

    def __init__(self, diff: str) -> None:
        super().__init__(classes="diff")
        self.diff = diff

    def render(self) -> RenderableType:
        """The coloured diff under a system prefix."""
        return prefixed("ℹ ", "dim", color_diff(self.diff))


def color_diff(diff: str) -> Text:
    """Colour a plain unified diff: headers bold, hunks cyan, additions green, removals red."""
    text = Text()
    for line in diff.splitlines():
        text.append(escape_controls(line), style=_diff_style(line))
        text.append("\n")
    text.rstrip()
    return text


def _diff_style(line: str) -> str:
    if line.startswith(("diff --git", "index ", "+++ ", "--- ", "new file", "deleted file", "similarity", "rename")):
        return "bold"
    if line.startswith("@@"):
        return "cyan"
    if line.startswith("+"):
        return "green"
    if line.startswith("-"):
        return "red"
    return ""
