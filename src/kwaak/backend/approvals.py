"""Command approvals: the command policy's ``prompt`` decisions, answered by the user in the TUI."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from kwaak import protocol as p
from kwaak.config.model import PolicyConfig
from kwaak.tools.policy import decide, refusal


@dataclass
class Approvals:
    """One session's command guard and its pending approvals (by tool call id)."""

    policy: PolicyConfig
    interactive: bool
    emit: Callable[[p.EventMsg], None]
    set_status: Callable[[p.SessionStatus], None]
    get_status: Callable[[], p.SessionStatus]
    pending: dict[str, asyncio.Future[bool]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.pending)

    async def guard(self, call_id: str, command: str) -> str | None:
        """``None`` to run ``command``; else the refusal the model reads (headless fails safe)."""
        verdict = decide(self.policy, command)
        if verdict.decision == "allow":
            return None
        if verdict.decision == "forbid":
            return refusal(command, verdict, why="the project's command policy forbids it")
        if not self.interactive:
            if self.policy.headless_prompt == "allow":
                return None
            return refusal(command, verdict, why="it needs the user's approval, and nobody can approve it headless")
        return await self._ask(call_id, command, verdict.reason or f"matches `{verdict.rule}`")

    async def _ask(self, call_id: str, command: str, reason: str) -> str | None:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.pending[call_id] = future
        self.set_status("awaiting_approval")
        self.emit(p.ApprovalRequested(call_id=call_id, command=command, reason=reason))
        try:
            approved = await future
        finally:
            self.pending.pop(call_id, None)
            if self.get_status() == "awaiting_approval":
                self.set_status("running")
        return None if approved else f"The user did not approve the command `{command}`; it was not run."

    def answer(self, call_id: str | None, *, approved: bool) -> bool:
        """Resolve a pending approval (``call_id=None``: the oldest one). False when none is pending."""
        key = call_id if call_id in self.pending else next(iter(self.pending), None)
        if key is None:
            return False
        future = self.pending[key]
        if not future.done():
            future.set_result(approved)
        return True
