"""Saved sessions in the TUI: reopening tabs at start-up, the ``/sessions`` picker, the exit summary.

Rule for tabs: the backend reopens the sessions that were TUI chat tabs (and that no other live
kwaak process owns); they replace the blank start-up chat. Headless runs (``run-agent``,
``batch``) are never opened as tabs by themselves: they are listed in ``/sessions`` with their
origin, and opening one there makes it a tab from then on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from kwaak import protocol as p
from kwaak.textsafe import one_line
from kwaak.ui.bridge import Connection, RestoredChat
from kwaak.ui.sessions_picker import PickerAction, SessionsScreen
from kwaak.ui.state import ChatState

if TYPE_CHECKING:
    from kwaak.ui.app import KwaakApp

OPENED_NOTE = "Opened from /sessions; send a message to continue."
_VERBS = {"open_session": "open", "delete_session": "delete", "retry_chat": "resume"}


class SessionControl:
    """What the app does with stored sessions (it talks to the backend only through ops and events)."""

    def __init__(self, app: KwaakApp) -> None:
        self.app = app
        self.picker: SessionsScreen | None = None
        self._resume_after_open: set[p.SessionId] = set()
        self._deleting: set[p.SessionId] = set()
        """Deletions started from the picker (``/delete_chat`` needs no confirmation line)."""

    def restore_at_start(self, connection: Connection) -> None:
        """Add the reopened chats (only the selected one is drawn) and drop the unused blank chat."""
        deck = self.app._deck
        for index, restored in enumerate(connection.restored):
            deck.restore(index, restored)
        if connection.restored:
            deck.drop_blank()
            deck.select(deck.current)
        if connection.team is not None:
            self.app.team_usage = connection.team

    def open_picker(self) -> None:
        """Show ``/sessions`` and ask the backend for the list."""
        if self.picker is not None:
            return
        self.picker = SessionsScreen()
        self.app.push_screen(self.picker, self._picked)
        self.app.bridge.submit(p.SYSTEM_SESSION, p.ListSessions())

    def listed(self, msg: p.SessionsListed) -> None:
        """The backend's answer to ``ListSessions``."""
        if self.picker is not None and self.picker.is_attached:
            self.picker.show(msg.sessions)

    def _picked(self, result: tuple[PickerAction, str] | None) -> None:
        self.picker = None
        if result is None:
            return
        action, session_id = result
        app, deck = self.app, self.app._deck
        chat = deck.find(session_id)
        if action == "delete":
            self._deleting.add(session_id)
            app.bridge.submit(session_id, p.DeleteSession())
            if chat is not None:
                deck.select(deck.chats.index(chat))
                deck.remove_current()
        elif chat is not None:
            app._select(deck.chats.index(chat))
            if action == "resume":
                self._retry(chat)
        else:
            if action == "resume":
                self._resume_after_open.add(session_id)
            app.bridge.submit(session_id, p.OpenSession())
        app._refresh_chrome()
        app.input.focus()

    def _retry(self, chat: ChatState) -> None:
        """Resume a chat: ``» retry`` in its transcript, then the ``RetryChat`` op."""
        self.app.chat_log(chat.session_id).add_command("retry")
        self.app._submit(chat, p.RetryChat())

    def on_event_without_chat(self, event: p.Event) -> None:
        """A session that has no tab here: it was just opened, deleted, or failed to open."""
        msg, session_id = event.msg, event.session_id
        app, deck = self.app, self.app._deck
        match msg:
            case p.SessionOpened():
                restored = RestoredChat(
                    session_id=session_id, title=msg.title, status=msg.status, branch=msg.branch, events=msg.events
                )
                chat = deck.restore(len(deck.chats), restored, note=OPENED_NOTE)
                chat.usage = msg.usage
                app.team_usage = msg.team
                deck.drop_blank()
                deck.select(deck.chats.index(chat))
                if session_id in self._resume_after_open:
                    self._resume_after_open.discard(session_id)
                    self._retry(chat)
            case p.CommandCompleted(command=command, ok=False, error=error, hint=hint) if command in _VERBS:
                self._resume_after_open.discard(session_id)
                self._deleting.discard(session_id)
                text = f"Could not {_VERBS[command]} session {session_id[:8]}: {error}"
                app.current_log.add_system(text, level="error", hint=hint)
            case p.CommandCompleted(command="delete_session", ok=True) if session_id in self._deleting:
                self._deleting.discard(session_id)
                app.current_log.add_system(f"Deleted session {session_id[:8]} (its branch is kept)")
            case _:
                pass


def exit_summary(chats: Sequence[ChatState]) -> str:
    """What the TUI prints on the normal screen after it exits: each session, its status and branch."""
    used = [chat for chat in chats if chat.status is not None or chat.branch]
    if not used:
        return ""
    lines = [f"kwaak: {len(used)} session(s) saved"]
    for chat in used:
        status = "interrupted" if chat.busy else (chat.status or "idle")
        branch, name = one_line(chat.branch or "-"), one_line(chat.name)[:50]  # titles come from the model
        lines.append(f"  {chat.session_id[:8]}  {status:<16} {branch:<40} {name}")
    lines.append(
        "Resume: run `kwaak` again (these chats reopen) or `kwaak sessions resume <id>`; list: `kwaak sessions`"
    )
    return "\n".join(lines)
