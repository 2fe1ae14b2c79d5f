"""``/fork N [MODELS]`` and ``/compare``: best-of-N from the TUI.

``/fork N`` opens N new chats and gives each the current chat's task (optionally each with its
own query model, cycled from a comma-separated list). The original chat and its forks form a
group; ``/compare`` in any of them submits the backend's ``Compare`` op for the group, whose
table (tests, diff size, cost, time) appears in the chat. The user then reviews and lands one
(``/review``, ``/squash``) and deletes the others (``/delete_chat``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from kwaak import protocol as p
from kwaak.ui.state import ChatState


@dataclass
class ForkGroups:
    """Which chats were forked from which (each member maps to its whole group)."""

    groups: dict[p.SessionId, tuple[p.SessionId, ...]] = field(default_factory=dict)

    def fork(
        self,
        origin: ChatState,
        args: tuple[str, ...],
        *,
        new_chat: Callable[[], ChatState],
        submit: Callable[[ChatState, p.Op], None],
    ) -> str:
        """Start the forks; returns the line to show in the original chat.

        Raises:
            ValueError: the chat has no task yet.
        """
        if origin.task is None:
            msg = "this chat has no task to fork yet"
            raise ValueError(msg)
        count = int(args[0])
        models = [m.strip() for m in args[1].split(",") if m.strip()] if len(args) > 1 else []
        forks: list[ChatState] = []
        for i in range(count):
            chat = new_chat()
            model = models[i % len(models)] if models else None
            chat.name = f"{origin.name} · fork {i + 1}" + (f" ({model})" if model else "")
            chat.has_messages = True
            submit(chat, p.Chat(message=origin.task, model=model))
            forks.append(chat)
        group = (*self.groups.get(origin.session_id, (origin.session_id,)), *(c.session_id for c in forks))
        for member in group:
            self.groups[member] = group
        names = ", ".join(c.name for c in forks)
        return f"Forked the task to {count} more agent(s): {names}. Type /compare when they are done."

    def compare_op(self, session_id: p.SessionId) -> p.Compare | None:
        """The ``Compare`` op for the group of ``session_id`` (``None`` when it was never forked)."""
        group = self.groups.get(session_id)
        return p.Compare(sessions=group) if group else None

    def forget(self, session_id: p.SessionId) -> None:
        """Drop a deleted chat from its group."""
        group = self.groups.pop(session_id, None)
        if group is None:
            return
        rest = tuple(s for s in group if s != session_id)
        for member in rest:
            self.groups[member] = rest
