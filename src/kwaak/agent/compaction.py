"""Token-aware context management: compact the conversation before it outgrows the model's window.

Before every request the :class:`Compactor` counts what would be sent (system prompt, history
since the latest summary, tool specs) with the model's :class:`~kwaak.llm.tokens.TokenCounter`. When
that plus the reply's ``max_output_tokens`` reaches :data:`COMPACT_AT` of the window, it compacts:

* the system messages and the task (the first user message) are kept verbatim;
* the latest state is kept verbatim: the most recent messages worth up to :data:`KEEP_RECENT` of
  the window, starting at a message boundary that never separates a tool call from its results
  (so the history stays valid for OpenAI's ``tool_call_id`` and Anthropic's ``tool_use`` pairing);
* everything older is summarized by the model (tool calls flattened to text, each item shortened
  so the summary request itself fits) into one :class:`~kwaak.messages.SummaryMessage`.

History stays append-only (the session store appends): the summary and copies of the kept
messages are appended, and :func:`~kwaak.messages.messages_to_send` starts at the latest summary.
A provider's context-overflow error is recovered once by a forced compaction (:meth:`recover`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from kwaak.agent.prompts import render
from kwaak.agent.summarize import RESUME_AFTER_SUMMARY, summary_input, tool_lines
from kwaak.errors import ContextTooLong
from kwaak.llm.base import ContextLimits, Model
from kwaak.messages import (
    AssistantMessage,
    Message,
    SummaryMessage,
    SystemMessage,
    ToolResult,
    ToolSpec,
    Usage,
    UserMessage,
    messages_to_send,
)
from kwaak.tools.base import Tool
from kwaak.tools.common import truncate

log = logging.getLogger(__name__)

COMPACT_AT = 0.85
"""Compact when the prompt reaches this fraction of (window - max_output_tokens)."""
KEEP_RECENT = 0.3
"""The most recent messages kept verbatim, as a fraction of (window - max_output_tokens)."""
KEEP_RECENT_AFTER_OVERFLOW = 0.15
"""Kept verbatim when the provider refused the prompt (our count was too low); ``/compact`` keeps
only the latest exchange."""
GOAL_SHARE = 0.15
"""The task is kept verbatim up to this fraction of the window (head and tail of longer ones)."""
RETRY_AFTER_MESSAGES = 4
"""After a summary came out longer than what it replaced, messages to wait before trying again."""
CHARS_PER_TOKEN_BUDGET = 3.0
"""Characters per token when shortening texts to a token budget (errs on the short side)."""


@dataclass(frozen=True, slots=True)
class ContextUsage:
    """How full the context is: tokens of the next request and the model's window."""

    used: int
    window: int | None


@dataclass(frozen=True, slots=True)
class Compaction:
    """What a compaction did."""

    before: int
    after: int
    window: int | None
    summarized: int
    """Messages replaced by the summary."""
    kept: int
    """Recent messages kept verbatim."""


class ContextGuard(Protocol):
    """Keeps the conversation inside the model's context window (:class:`kwaak.agent.compaction.Compactor`)."""

    async def before_request(self, history: list[Message], goal: str | None) -> object:
        """Compact when the next request would come close to the window."""
        ...

    async def recover(self, history: list[Message], goal: str | None, error: ContextTooLong) -> object:
        """The provider refused the prompt as too long: compact harder (or raise)."""
        ...


Notify = Callable[[str, str], None]
"""``notify(level, text)``: a line for the user (``info`` / ``warning``)."""


@dataclass(kw_only=True)
class Compactor:
    """Keeps one agent's conversation inside its model's context window."""

    model: Model
    tools: Callable[[], Sequence[ToolSpec]]
    summary_tools: Callable[[], Sequence[Tool]] = lambda: ()
    diff: Callable[[], Awaitable[str]] | None = None
    on_usage: Callable[[Usage], None] = lambda _usage: None
    notify: Notify = lambda _level, _text: None
    on_context: Callable[[ContextUsage], None] = lambda _usage: None
    """Told the context size after each check (the session's meter)."""
    _declined_at: int | None = None

    async def measure(self, history: Sequence[Message]) -> ContextUsage:
        """Tokens of the next request built from ``history`` (calibrated count) and the window."""
        used = self.model.counter.count(messages_to_send(list(history)), self.tools())
        return ContextUsage(used=used, window=await self.model.context_window())

    async def limit(self) -> int | None:
        """Prompt tokens available: the window minus the reply's output limit."""
        window = await self.model.context_window()
        if not window:
            return None
        return max(window // 4, window - await self.model.output_limit())

    async def before_request(self, history: list[Message], goal: str | None) -> Compaction | None:
        """Compact when the next request would reach :data:`COMPACT_AT` of the usable window."""
        usage = await self.measure(history)
        self.on_context(usage)
        limit = await self.limit()
        if limit is None or usage.used < COMPACT_AT * limit:
            return None
        if self._declined_at is not None and len(history) < self._declined_at + RETRY_AFTER_MESSAGES:
            return None  # a summary just came out too long: wait for more conversation first
        return await self.compact(history, goal, reason="auto")

    async def recover(self, history: list[Message], goal: str | None, error: ContextTooLong) -> Compaction:
        """A provider refused the prompt as too long: say so, learn the numbers it named, compact harder."""
        self.notify("warning", f"{error.message.rstrip('.')}. Compacting the conversation and retrying once.")
        if error.prompt_tokens:
            raw = self.model.counter.raw(messages_to_send(history), self.tools())
            self.model.counter.observe(raw, error.prompt_tokens)
        if error.window:
            limits = self.model.limits = self.model.limits or ContextLimits()
            limits.window = error.window
        return await self.compact(history, goal, reason="overflow")

    async def compact(self, history: list[Message], goal: str | None, *, reason: str = "manual") -> Compaction:
        """Summarize older turns, keep the task and the latest state; append the result to ``history``.

        Raises:
            ContextTooLong: nothing can be summarized or shortened and the conversation does not fit.
        """
        before = await self.measure(history)
        limit = await self.limit() or max(before.used, 1)
        view = messages_to_send(history)
        leading = next((i for i, m in enumerate(view) if not isinstance(m, SystemMessage)), len(view))
        body = view[leading:]
        keep = int({"overflow": KEEP_RECENT_AFTER_OVERFLOW, "manual": 0.0}.get(reason, KEEP_RECENT) * limit)
        start = self._tail_start(body, keep)
        older, kept = body[:start], body[start:]
        tail = self._fit_tail(kept, keep)
        fresh = [m for m in older if not isinstance(m, SummaryMessage) and m.content != RESUME_AFTER_SUMMARY]
        if not fresh and tail == kept:  # only an earlier summary is older: summarizing it again gains nothing
            if reason != "overflow":  # near the window but nothing to summarize: let the request try
                if reason == "manual":
                    self.notify("info", "Nothing to compact yet.")
                return Compaction(before.used, before.used, before.window, summarized=0, kept=len(kept))
            msg = f"the conversation needs about {before.used:,} tokens{_of(before.window)} and cannot be compacted"
            raise ContextTooLong(msg, hint="raise `context_window` if the model allows more, or start a new chat")
        self.notify("info", f"Compacting the conversation ({before.used:,} tokens{_of(before.window)})...")
        summary = await self._summarize(older, limit) if older else ""
        appended: list[Message] = [SummaryMessage(content=_summary_text(goal, summary, int(GOAL_SHARE * limit)))]
        appended += tail or [UserMessage(content=RESUME_AFTER_SUMMARY)]
        counter = self.model.counter
        if reason == "auto" and sum(map(counter.message, appended)) >= sum(map(counter.message, body)):
            # The summary came out longer than what it replaces (tiny windows): keep the conversation.
            self.notify("info", "The summary was not shorter than the conversation; kept it as it was.")
            self._declined_at = len(history)
            return Compaction(before.used, before.used, before.window, summarized=0, kept=len(body))
        history.extend(appended)
        after = await self.measure(history)
        self.on_context(after)
        result = Compaction(before.used, after.used, after.window, summarized=len(older), kept=len(tail))
        self.notify(
            "info",
            f"Compacted the conversation: {before.used:,} → {after.used:,} tokens{_of(after.window)} "
            f"({len(older)} older messages summarized, {len(tail)} recent kept).",
        )
        log.info("compaction (%s): %s", reason, result)
        return result

    def _tail_start(self, body: Sequence[Message], budget: int) -> int:
        """Index where the verbatim tail starts.

        The tail starts at a message that is not a tool result (so every kept result keeps its call),
        always holds the latest exchange, grows backwards while it fits ``budget``, and leaves at
        least the first message to summarize.
        """
        counter = self.model.counter
        safe = [i for i in range(1, len(body)) if not isinstance(body[i], ToolResult)]
        if not safe:
            return len(body)
        start = safe[-1]
        size = sum(counter.message(m) for m in body[start:])
        for i in range(start - 1, 0, -1):
            size += counter.message(body[i])
            if size > budget:
                break
            if not isinstance(body[i], ToolResult):
                start = i
        return start

    def _fit_tail(self, tail: list[Message], budget: int) -> list[Message]:
        """Shorten the largest tool outputs of the kept messages until they fit ``budget``."""
        counter = self.model.counter
        total = sum(counter.message(m) for m in tail)
        if total <= budget:
            return tail
        fitted = list(tail)
        results = sorted(
            (i for i, m in enumerate(fitted) if isinstance(m, ToolResult)), key=lambda i: -counter.message(fitted[i])
        )
        for index in results:
            if total <= budget:
                break
            message = fitted[index]
            assert isinstance(message, ToolResult)
            size = counter.message(message)
            target = max(200, int((size - (total - budget)) * CHARS_PER_TOKEN_BUDGET))
            shortened = replace(message, content=truncate(message.content, target, hint="shortened to fit the context"))
            total += counter.message(shortened) - size
            fitted[index] = shortened
        return fitted

    async def _summarize(self, older: Sequence[Message], limit: int) -> str:
        """Ask the model for a summary of ``older``, each item shortened so the request fits ``limit``."""
        prompt = render(
            "conversation_summary", diff=await self.diff() if self.diff else "", tools=tool_lines(self.summary_tools())
        )
        items = summary_input(older)
        counter = self.model.counter
        budget = int(0.8 * limit) - counter.text(prompt)
        total = sum(counter.message(m) for m in items)
        if total > budget > 0:
            share = budget / total
            items = [_shorten(m, max(300, int(counter.message(m) * share * CHARS_PER_TOKEN_BUDGET))) for m in items]
        response = await self.model.complete([*items, UserMessage(content=prompt)])
        self.on_usage(response.usage)
        return (response.message.content or "").strip()


def _shorten(message: Message, chars: int) -> Message:
    if isinstance(message, AssistantMessage) and message.content:
        return replace(message, content=truncate(message.content, chars))
    if isinstance(message, UserMessage | SummaryMessage):
        return replace(message, content=truncate(message.content, chars))
    return message


def _summary_text(goal: str | None, summary: str, goal_tokens: int) -> str:
    task = truncate(goal or "", max(2000, int(goal_tokens * CHARS_PER_TOKEN_BUDGET)))
    parts = [f"# Original Goal for Reference: \n```\n{task}\n```"] if task else []
    parts.append(summary or "# Summary\nThe conversation so far was compacted; continue from the messages below.")
    return "\n\n".join(parts)


def _of(window: int | None) -> str:
    return f" of a {window:,}-token window" if window else ""
