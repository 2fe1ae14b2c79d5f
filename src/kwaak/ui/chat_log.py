"""One chat's transcript: a scrolling column of entries built from the chat's events.

Entries are added in batches: :meth:`ChatLog.show` updates or creates widgets, and one flush per
message-loop turn mounts the new ones, refreshes streaming replies and drops the oldest entries
beyond ``max_entries`` (the full history stays in the backend). The log is anchored to the bottom
(auto-tail) once it overflows, until the user scrolls up; scrolling back to the end, or End,
anchors it again.
"""

from __future__ import annotations

from typing import Literal

from textual.containers import VerticalScroll
from textual.widgets import Static

from kwaak import protocol as p
from kwaak.ui.messages import (
    AssistantEntry,
    ChatEntry,
    CommandEntry,
    DiffEntry,
    SystemEntry,
    ToolCallEntry,
    UserEntry,
)

Level = Literal["info", "warning", "error"]
HIDDEN_TOOLS = frozenset({"stop"})
"""Tool calls kwaak never shows as a line."""


_DONE_WORDS = {"index_repository": "Indexed the repository"}
"""Successful commands worth a line of their own (the others show their result or nothing)."""


def completion_entry(done: p.CommandCompleted) -> SystemEntry | None:
    """The line for the end of a command, in the user's words (``None``: nothing to add)."""
    seconds = round(done.seconds)
    if done.ok:
        words = _DONE_WORDS.get(done.command)
        return SystemEntry(f"{words} in {seconds} s") if words else None
    if done.error_kind == "stopped":
        return None  # the stop itself says "Agent stopped"
    return SystemEntry(done.error or "Something went wrong", level="error", hint=done.hint)


def retry_text(retry: p.ProviderRetry) -> str:
    """``http://127.0.0.1:8000/v1: rate limited, retrying in 31 s (2/6)``."""
    wait = f"{retry.wait_seconds:.0f} s" if retry.wait_seconds >= 1 else f"{retry.wait_seconds:.1f} s"
    return f"{retry.endpoint}: {retry.reason}, retrying in {wait} ({retry.attempt}/{retry.max_attempts})"


def system_line(msg: p.EventMsg) -> SystemEntry | None:
    """The system line for an event that has one (messages, commits, approvals, retries, failures)."""
    match msg:
        case p.SystemMessage(text=text, level=level, hint=hint):
            return SystemEntry(text, level=level, hint=hint)
        case p.ProviderRetry():
            return SystemEntry(retry_text(msg), level="warning")
        case p.Committed(sha=sha, message=message, pushed=pushed, replaces=replaces):
            first = message.strip().splitlines()[0] if message.strip() else ""
            verb = f"Reworded {replaces[:8]} as" if replaces else "Committed"
            return SystemEntry(f"{verb} {sha[:8]}: {first}" + (" (pushed)" if pushed else ""))
        case p.ApprovalRequested(command=command, reason=reason):
            return SystemEntry(
                f"The agent wants to run `{command}` ({reason}). Type /approve to run it or /deny to refuse.",
                level="warning",
            )
        case p.ReviewShown(branch=branch, base=base, files=files, ahead=ahead, behind=behind):
            return SystemEntry(
                f"Review of {branch} against {base}: {len(files)} file(s), {ahead} ahead, {behind} behind"
            )
        case p.ComparisonShown():
            return SystemEntry(f"Best of {len(msg.rows)} against {msg.base}:\n{msg.table()}")
        case p.CommandCompleted():
            return completion_entry(msg)
        case _:
            return None


class ChatLog(VerticalScroll, can_focus=False):
    """The message pane of one chat (scrolled with PageUp/PageDown/End while typing)."""

    def __init__(self, session_id: p.SessionId, *, max_entries: int = 200, id: str | None = None) -> None:
        super().__init__(id=id, classes="chat-log")
        self.session_id = session_id
        self.max_entries = max_entries
        self.trimmed = 0
        """How many old entries were unmounted."""
        self._streams: dict[str, AssistantEntry] = {}
        self._tools: dict[str, ToolCallEntry] = {}
        self._pending: list[ChatEntry] = []
        self._dirty: set[ChatEntry] = set()
        self._flush_scheduled = False
        self._notice = Static("", classes="trimmed")
        self._notice.display = False
        self._selected: ToolCallEntry | None = None
        self._shown_as: dict[str, str] = {}
        """How user messages with collapsed pastes are shown (full text → shown text)."""

    def on_mount(self) -> None:
        """Mount the (hidden) notice about unmounted old entries."""
        self.mount(self._notice)

    # -- adding entries -------------------------------------------------------------------

    def add(self, entry: ChatEntry) -> None:
        """Queue an entry; it is mounted with the rest of the batch."""
        self._pending.append(entry)
        self._schedule()

    def show(self, msg: p.EventMsg) -> None:
        """Render one event of this chat (events without a transcript line are ignored)."""
        match msg:
            case p.UserMessage(text=text):
                self.add(UserEntry(text, shown=self._shown_as.pop(text, None)))
            case p.AssistantDelta(message_id=mid, text=text):
                self._delta(mid, text)
            case p.AssistantMessage():
                self._assistant(msg)
            case p.ToolCallStarted(call_id=cid, name=name, summary=summary):
                self._tool(cid, name, summary)
            case p.ToolCallFinished(call_id=cid, name=name, ok=ok, output=output, preview=preview):
                entry = self._tool(cid, name, name)
                if entry is not None:
                    entry.finish(ok=ok, output=output or preview, exit_code=msg.exit_code, outcome=msg.outcome)
            case p.StatusChanged(status="stopped" | "failed" | "budget_exhausted" | "interrupted"):
                for entry in self._tools.values():
                    entry.interrupt()
            case p.DiffShown(diff=diff):
                self.add(DiffEntry(diff))
            case _:
                if (line := system_line(msg)) is not None:
                    self.add(line)

    def show_user_message_as(self, text: str, shown: str) -> None:
        """Show the user message ``text`` (when the backend echoes it) as ``shown``."""
        if shown != text:
            self._shown_as[text] = shown

    @property
    def tool_entries(self) -> list[ToolCallEntry]:
        """The mounted tool lines, oldest first."""
        return [entry for entry in self.entries if isinstance(entry, ToolCallEntry)]

    @property
    def selected_tool(self) -> ToolCallEntry | None:
        """The tool line picked with alt-↑/↓ (if still mounted)."""
        entry = self._selected
        return entry if entry is not None and entry.is_attached else None

    def select_tool(self, entry: ToolCallEntry | None) -> None:
        """Highlight ``entry`` as the tool line ctrl-o acts on."""
        if self._selected is not None:
            self._selected.remove_class("-selected")
        self._selected = entry
        if entry is not None:
            entry.add_class("-selected")

    def step_tool_selection(self, step: int) -> ToolCallEntry | None:
        """Move the selection to the previous/next tool line (from the newest when none is selected)."""
        tools = self.tool_entries
        if not tools:
            return None
        current = self.selected_tool
        index = len(tools) if current is None else tools.index(current)
        entry = tools[max(0, min(len(tools) - 1, index + step))]
        self.select_tool(entry)
        return entry

    def add_command(self, label: str) -> None:
        """Show ``» <label>`` for a slash command."""
        self.add(CommandEntry(label))

    def add_system(self, text: str, *, level: Level = "info", hint: str | None = None, markdown: bool = False) -> None:
        """Show a system line."""
        self.add(SystemEntry(text, level=level, hint=hint, markdown=markdown))

    def _delta(self, message_id: str, text: str) -> None:
        entry = self._streams.get(message_id)
        if entry is None:
            entry = self._streams[message_id] = AssistantEntry(message_id)
            self.add(entry)
        entry.append(text)
        self._dirty.add(entry)
        self._schedule()

    def _assistant(self, msg: p.AssistantMessage) -> None:
        entry = self._streams.pop(msg.message_id, None)
        text = (msg.text or "").strip()
        if text:
            if entry is None:
                entry = AssistantEntry(msg.message_id)
                self.add(entry)
            entry.complete(text)
        elif entry is not None:
            self._discard(entry)
        for call in msg.tool_calls:
            self._tool(call.call_id, call.name, call.summary, arguments=call.arguments)

    def _tool(self, call_id: str, name: str, summary: str, *, arguments: str = "") -> ToolCallEntry | None:
        if name in HIDDEN_TOOLS:
            return None
        entry = self._tools.get(call_id)
        if entry is None:
            entry = self._tools[call_id] = ToolCallEntry(call_id, name=name, summary=summary, arguments=arguments)
            self.add(entry)
        elif arguments and not entry.arguments:
            entry.arguments = arguments
        return entry

    def _discard(self, entry: ChatEntry) -> None:
        if entry in self._pending:
            self._pending.remove(entry)
        elif entry.is_attached:
            entry.remove()
        self._dirty.discard(entry)

    # -- flushing -------------------------------------------------------------------------

    def _schedule(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.call_later(self.flush)

    def flush(self) -> None:
        """Mount queued entries, repaint streaming replies, and drop the oldest beyond the cap."""
        self._flush_scheduled = False
        for entry in self._dirty:
            entry.refresh(layout=True)
        self._dirty.clear()
        if self._pending:
            pending, self._pending = self._pending, []
            if len(pending) > self.max_entries:  # e.g. a restored transcript: never mount what goes
                self._forget(pending[: -self.max_entries])
                pending = pending[-self.max_entries :]
            self.mount_all(pending)
        self._trim()
        self.call_after_refresh(self._follow)

    def _follow(self) -> None:
        # Anchoring a log shorter than its view would push it to the bottom: anchor on overflow.
        if not self.is_anchored and self.max_scroll_y > 0:
            self.anchor()

    @property
    def entries(self) -> list[ChatEntry]:
        """The mounted entries, oldest first."""
        return [child for child in self.children if isinstance(child, ChatEntry)]

    def _trim(self) -> None:
        entries = self.entries
        excess = len(entries) - self.max_entries
        if excess <= 0:
            return
        old = entries[:excess]
        self._forget(old)
        self.remove_children(old)

    def _forget(self, entries: list[ChatEntry]) -> None:
        for entry in entries:
            if isinstance(entry, ToolCallEntry):
                self._tools.pop(entry.call_id, None)
        self.trimmed += len(entries)
        self._notice.update(f"… {self.trimmed} earlier messages are not shown here")
        self._notice.display = True

    def scroll_to_latest(self) -> None:
        """Jump to the newest message and follow again (End)."""
        self.scroll_end(animate=False)
        self._follow()
