"""What the UI knows about each chat (a view model), and how it is summarized in one line.

The backend owns the agent and its history; a :class:`ChatState` only keeps what the screen shows:
name, branch, status, the latest activity, unread count and usage. It is updated from events by
:meth:`ChatState.observe` and read by the chat list, the status bar and the input's throbber.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

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
    "awaiting_approval": ("?", "bold yellow"),
}
Attention = Literal["finished", "failed", "approval"]
_ATTENTION: dict[str, Attention] = {
    "done": "finished",
    "idle": "finished",
    "failed": "failed",
    "budget_exhausted": "failed",
    "awaiting_approval": "approval",
}
BADGES: dict[Attention, tuple[str, str]] = {
    "finished": ("done", "bold green"),
    "failed": ("failed", "bold red"),
    "approval": ("approve?", "bold black on yellow"),
}
LEGEND: tuple[tuple[str, str], ...] = (
    ("⠋", "working"),
    ("○", "new / waiting for a message"),
    ("✓", "finished (the agent stopped)"),
    ("✗", "failed (see the chat for the error)"),
    ("?", "waiting for your /approve or /deny"),
    ("■", "stopped by you"),
    ("$", "budget used up"),
    ("!", "interrupted when kwaak exited"),
    ("⤴", "its branch was landed"),
    ("●N", "N unread messages"),
)
"""The chat list's glyphs, for ``/help``."""


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
    model: str | None = None
    executor: str | None = None
    attention: Attention | None = None
    """Why this chat wants the user to look (a badge in the chat list until it is shown)."""
    context: str | None = None
    """How full the model's context window is (e.g. ``12.3k/32.8k 37%``), from the backend's usage events."""
    start_from: Literal["head", "main", "origin"] | None = None
    """Where the agent's branch starts (``/new_chat origin``); sent with the first message."""

    @property
    def busy(self) -> bool:
        """Whether the agent is working (kwaak's "Loading" state)."""
        return self.pending > 0 or self.status in ("starting", "running")

    def observe(self, msg: p.EventMsg) -> Attention | None:
        """Update the state from one of this chat's events; returns a newly raised attention state."""
        if isinstance(msg, p.UserMessage) and self.task is None:
            self.task = msg.text
        if isinstance(msg, p.Landed):
            self.landed = True
        match msg:
            case p.StatusChanged(status=status):
                previous, self.status = self.status, status
                attention = _ATTENTION.get(status)
                if attention is not None and (previous in ("running", "starting") or attention == "approval"):
                    self.attention = attention
                    return attention
            case p.AgentInfo(model=model, executor=executor):
                self.model, self.executor = model, executor
            case p.SessionRenamed(title=title):
                self.name = one_line(title)
            case p.BranchRenamed(branch=branch):
                self.branch = one_line(branch)
            case p.Activity(text=text) | p.IndexProgress(message=text):
                self.activity = one_line(text)
            case p.ProviderRetry(wait_seconds=wait, attempt=attempt, max_attempts=most):
                self.activity = f"retrying in {wait:.0f} s ({attempt}/{most})"
            case p.UsageUpdated(session=usage, context=context):
                self.usage = usage
                self.context = format_context(context) if context is not None else self.context
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
        return None

    def icon(self, frame: int) -> Text:
        """The state glyph: a spinner while busy, otherwise the last status."""
        if self.busy:
            return Text(SPINNER[frame % len(SPINNER)], style="yellow")
        if self.landed:
            return Text("⤴", style="bold green")
        glyph, style = _STATUS_ICONS.get(self.status or "idle", ("○", "dim"))
        return Text(glyph, style=style)

    def list_line(self, frame: int, *, width: int) -> Text:
        """One line of the chat list: icon, name (truncated), attention badge and unread marker."""
        marker = Text(f" ●{self.unread}", style="bold magenta") if self.unread else Text()
        if self.attention is not None and not self.busy:
            word, style = BADGES[self.attention]
            marker = Text.assemble(" ", (word, style), marker)
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
    """Tokens in/out and cost, e.g. ``1.2k↑ 300↓ $0.0042`` (``~`` marks estimated counts)."""
    approx = "~" if usage.estimated else ""
    return (
        f"{approx}{format_tokens(usage.input_tokens)}↑ {approx}{format_tokens(usage.output_tokens)}↓ "
        f"${usage.cost_usd:.4f}"
    )


def format_context(info: p.ContextInfo) -> str:
    """The context meter: used/window and percent, e.g. ``12.3k/32.8k 37%`` (``12.3k`` when the window is unknown)."""
    if not info.window_tokens:
        return format_tokens(info.used_tokens)
    return f"{format_tokens(info.used_tokens)}/{format_tokens(info.window_tokens)} {info.percent:.0f}%"
