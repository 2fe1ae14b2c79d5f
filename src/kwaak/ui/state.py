"""What the UI knows about each chat (a view model), and how it is summarized in one line.

The backend owns the agent and its history; a :class:`ChatState` only keeps what the screen shows:
name, branch, status, the latest activity, unread count and usage. It is updated from events by
:meth:`ChatState.observe` and read by the chat list, the status bar and the input's throbber.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text

from kwaak import protocol as p
from kwaak.textsafe import one_line

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_STATUS_ICONS: dict[str, tuple[str, str]] = {
    "idle": ("○", "dim"),
    "done": ("✓", "green"),
    "failed": ("✗", "bold red"),
    "stopped": ("■", "yellow"),
    "budget_exhausted": ("$", "bold red"),
    "interrupted": ("!", "yellow"),
}


@dataclass
class ChatState:
    """One chat tab: an agent session as seen by the user."""

    session_id: p.SessionId
    name: str
    branch: str | None = None
    status: p.SessionStatus | None = None
    activity: str | None = None
    unread: int = 0
    pending: int = 0
    """Operations submitted for this chat that have not completed yet."""
    usage: p.UsageInfo = field(default_factory=p.UsageInfo)
    last_text: str | None = None
    """The last non-empty user or assistant message (for ``/copy``)."""
    has_messages: bool = False
    task: str | None = None
    """The first message the agent was given (what ``/fork`` hands to new agents)."""
    landed: bool = False
    """The agent's branch was landed (the chat list shows ⤴)."""

    @property
    def busy(self) -> bool:
        """Whether the agent is working (kwaak's "Loading" state)."""
        return self.pending > 0 or self.status in ("starting", "running")

    def observe(self, msg: p.EventMsg) -> None:
        """Update the state from one of this chat's events."""
        if isinstance(msg, p.UserMessage) and self.task is None:
            self.task = msg.text
        if isinstance(msg, p.Landed):
            self.landed = True
        match msg:
            case p.StatusChanged(status=status):
                self.status = status
            case p.SessionRenamed(title=title):
                self.name = one_line(title)
            case p.BranchRenamed(branch=branch):
                self.branch = one_line(branch)
            case p.Activity(text=text) | p.IndexProgress(message=text):
                self.activity = one_line(text)
            case p.UsageUpdated(session=usage):
                self.usage = usage
            case p.CommandCompleted(ok=ok):
                self.pending = max(0, self.pending - 1)
                if not self.pending:
                    self.activity = None
                    if self.status in ("starting", "running"):  # e.g. the agent failed to start
                        self.status = "idle" if ok else "failed"
            case p.UserMessage(text=text) | p.AssistantMessage(text=text) if text and text.strip():
                self.last_text = text
            case _:
                pass

    def icon(self, frame: int) -> Text:
        """The state glyph: a spinner while busy, otherwise the last status."""
        if self.busy:
            return Text(SPINNER[frame % len(SPINNER)], style="yellow")
        if self.landed:
            return Text("⤴", style="bold green")
        glyph, style = _STATUS_ICONS.get(self.status or "idle", ("○", "dim"))
        return Text(glyph, style=style)

    def list_line(self, frame: int, *, width: int) -> Text:
        """One line of the chat list: icon, name (truncated) and the unread marker."""
        marker = Text(f" ●{self.unread}", style="bold magenta") if self.unread else Text()
        room = max(4, width - 2 - len(marker))
        name = self.name if len(self.name) <= room else self.name[: room - 1] + "…"
        return Text.assemble(self.icon(frame), " ", name, marker)

    def throbber(self, frame: int) -> str:
        """The input's title while the agent works: "Kwaaking (<activity>) ..."."""
        spin = SPINNER[frame % len(SPINNER)]
        if self.activity:
            return f"{spin} Kwaaking ({self.activity}) ..."
        return f"{spin} Kwaaking ..."


def counts_as_unread(msg: p.EventMsg) -> bool:
    """Whether an event adds a visible message (kwaak counts every non-user message)."""
    return isinstance(msg, p.AssistantMessage | p.SystemMessage | p.DiffShown | p.CommandCompleted | p.Committed)


def format_tokens(count: int) -> str:
    """``1234`` → ``1.2k``; ``2_500_000`` → ``2.5M``."""
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f}M"
    if count >= 1_000:
        return f"{count / 1_000:.1f}k"
    return str(count)


def format_usage(usage: p.UsageInfo) -> str:
    """Tokens in/out and cost, e.g. ``1.2k↑ 300↓ $0.0042``."""
    return f"{format_tokens(usage.input_tokens)}↑ {format_tokens(usage.output_tokens)}↓ ${usage.cost_usd:.4f}"
