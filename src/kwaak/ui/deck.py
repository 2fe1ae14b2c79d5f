"""The chats of the team: their states, their transcripts, and which one is shown."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from textual.widgets import ContentSwitcher

from kwaak import protocol as p
from kwaak.textsafe import one_line
from kwaak.ui.bridge import RestoredChat
from kwaak.ui.chat_log import ChatLog
from kwaak.ui.state import ChatState

RESTORED_NOTE = "Restored from the last run; send a message to continue."


class ChatDeck:
    """Chats in tab order, each with a :class:`ChatLog` mounted in a ``ContentSwitcher``."""

    def __init__(self, switcher: ContentSwitcher, *, new_session_id: Callable[[], str], max_entries: int) -> None:
        self.switcher = switcher
        self.new_session_id = new_session_id
        self.max_entries = max_entries
        self.chats: list[ChatState] = []
        self.current = 0
        self._logs: dict[p.SessionId, ChatLog] = {}
        self._deferred: dict[p.SessionId, list[p.EventMsg]] = {}
        self._log_ids = 0

    @property
    def current_chat(self) -> ChatState:
        """The chat on screen."""
        return self.chats[self.current]

    def log(self, session_id: p.SessionId) -> ChatLog:
        """The transcript of a chat (with any deferred events rendered)."""
        chat_log = self._logs[session_id]
        for msg in self._deferred.pop(session_id, ()):
            chat_log.show(msg)
        return chat_log

    def show(self, session_id: p.SessionId, msg: p.EventMsg) -> None:
        """Render an event now if its chat is visible; otherwise keep it until the chat is shown.

        Hidden chats then cost nothing per frame, however many agents stream.
        """
        if session_id == self.current_chat.session_id:
            self.log(session_id).show(msg)
            return
        queue = self._deferred.setdefault(session_id, [])
        last = queue[-1] if queue else None
        if (
            isinstance(msg, p.AssistantDelta)
            and isinstance(last, p.AssistantDelta)
            and last.message_id == msg.message_id
        ):
            queue[-1] = replace(last, text=last.text + msg.text)
        else:
            queue.append(msg)

    def find(self, session_id: p.SessionId) -> ChatState | None:
        """The chat of a session (``None`` once it was deleted)."""
        return next((chat for chat in self.chats if chat.session_id == session_id), None)

    def _mount(self, chat: ChatState, position: int) -> ChatLog:
        self._log_ids += 1
        chat_log = ChatLog(chat.session_id, max_entries=self.max_entries, id=f"chat-{self._log_ids}")
        self.chats.insert(position, chat)
        self._logs[chat.session_id] = chat_log
        chat_log.display = False  # only the selected chat's transcript is shown (``select``)
        self.switcher.mount(chat_log)
        return chat_log

    def add(self) -> ChatState:
        """Open a chat for a new agent ("Chat #n") and show it."""
        chat = ChatState(session_id=self.new_session_id(), name=f"Chat #{len(self.chats) + 1}")
        self._mount(chat, len(self.chats))
        self.select(len(self.chats) - 1)
        return chat

    def restore(self, position: int, restored: RestoredChat, *, note: str = RESTORED_NOTE) -> ChatState:
        """Add a saved session's chat at ``position`` (not shown until selected), replaying its events.

        The replay draws the transcript as it was, ``» command`` echoes included.
        """
        name = one_line(restored.title or "") or f"Chat #{position + 1}"
        chat = ChatState(session_id=restored.session_id, name=name, status=restored.status, branch=restored.branch)
        chat_log = self._mount(chat, position)
        if position <= self.current and len(self.chats) > 1:
            self.current += 1
        for event in restored.events:
            chat.observe(event.msg)
            if isinstance(event.msg, p.CommandStarted):
                chat_log.add_command(event.msg.label)
            else:
                chat_log.show(event.msg)
        chat.status, chat.pending, chat.activity, chat.unread = restored.status, 0, None, 0
        chat.attention = None
        chat.has_messages = True
        chat_log.add_system(note)
        return chat

    def drop_blank(self) -> None:
        """Remove chats without an agent (the start-up chat, once saved chats were restored or opened).

        A chat whose agent was asked anything (it has a status, a branch or a pending op) stays.
        """
        blank = [c for c in self.chats if c.status is None and not c.branch and not c.pending]
        for chat in blank if len(blank) < len(self.chats) else []:
            index = self.chats.index(chat)
            self.chats.pop(index)
            self._deferred.pop(chat.session_id, None)
            self._logs.pop(chat.session_id).remove()
            if index < self.current:
                self.current -= 1
            elif index == self.current:
                self.current = 0  # the first (oldest) chat replaces the blank one on screen

    def select(self, index: int) -> ChatState:
        """Show chat ``index`` (wrapping) and mark it read."""
        self.current = index % len(self.chats)
        chat = self.current_chat
        chat.unread = 0
        self.switcher.current = self.log(chat.session_id).id
        return chat

    def remove_current(self) -> bool:
        """Close the current chat; returns False when it was the last one (a fresh chat replaces it)."""
        chat = self.chats.pop(self.current)
        self._deferred.pop(chat.session_id, None)
        self._logs.pop(chat.session_id).remove()
        if not self.chats:
            self.add()
            return False
        self.select(self.current)
        return True
