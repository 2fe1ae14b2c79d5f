"""The agent loop: request → run tool calls → record results → hooks → repeat until stop or pause.

Everything around the loop (commits, summaries, events, budgets) comes in through small protocols,
so this module stays readable in one sitting.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from kwaak import telemetry
from kwaak.agent.compaction import ContextGuard
from kwaak.agent.output import handle_cut
from kwaak.errors import ContextTooLong, KwaakError
from kwaak.llm.base import Model, ModelResponse
from kwaak.messages import (
    AssistantMessage,
    Message,
    ToolCall,
    ToolResult,
    Usage,
    UserMessage,
    messages_to_send,
)
from kwaak.tools.base import StopAgent, ToolContext, ToolRegistry

TurnOutcome = Literal["stopped", "paused"]
log = logging.getLogger(__name__)
INTERRUPTED = "The tool call was interrupted by the user before it finished."
CONTINUE_NUDGE = "Continue working on the task. If it is complete, or you need the user's input, call the `stop` tool."


class RepeatedToolFailure(KwaakError):
    """The same tool call kept failing; the agent is stopped to avoid a loop."""

    kind = "repeated_tool_failure"


@dataclass
class AgentState:
    """One agent's conversation and loop bookkeeping."""

    history: list[Message] = field(default_factory=list)
    goal: str | None = None
    """The first user message (re-injected by summaries)."""
    completion_start: int | None = None
    """History length before the latest completion, for redrive."""
    completions_since_summary: int = 0
    failed_calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    cut_replies: int = 0
    """Replies in a row cut at the output limit."""

    def rewind_last_completion(self) -> None:
        """Drop what the latest completion added (its reply and tool results), for a retry."""
        if self.completion_start is not None:
            del self.history[self.completion_start :]


class LoopListener(Protocol):
    """Receives what happens in the loop (the session turns these into events)."""

    def activity(self, text: str) -> None:
        """A short status line."""

    def text_delta(self, message_id: str, text: str) -> None:
        """A streamed fragment of an assistant message."""

    def assistant_message(self, message_id: str, message: AssistantMessage) -> None:
        """A complete assistant message."""

    def tool_started(self, call: ToolCall) -> None:
        """A tool call began."""

    def tool_finished(self, call: ToolCall, result: ToolResult) -> None:
        """A tool call ended."""

    def usage(self, usage: Usage) -> None:
        """Usage of one model request."""

    def notice(self, level: str, text: str) -> None:
        """A line for the user (``info`` / ``warning``): compactions, cut replies."""


class AgentHooks(Protocol):
    """Extension points around tools and completions."""

    async def after_tool(self, call: ToolCall, result: ToolResult) -> ToolResult:
        """May replace a tool result (e.g. the test-output summarizer)."""
        ...

    async def after_completion(self, state: AgentState) -> None:
        """Runs after every reply + its tool calls (lint, commit, conversation summary)."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class LoopSettings:
    """How the loop behaves between tool calls."""

    stop_on_assistant: bool = False
    """Pause after a reply without tool calls (kwaak's ``stop_on_empty_messages``)."""
    max_identical_failures: int = 3
    max_idle_replies: int = 3
    """Text-only replies in a row before pausing anyway (the model is not using tools)."""


def _nothing() -> None:
    return None


@dataclass(kw_only=True)
class AgentLoop:
    """Runs one agent until it stops or pauses."""

    model: Model
    registry: ToolRegistry
    ctx: ToolContext
    hooks: AgentHooks
    listener: LoopListener
    settings: LoopSettings = LoopSettings()
    reserve_step: Callable[[Sequence[Message]], Callable[[], None]] = lambda _history: _nothing
    """Counts a step against the budgets before the request (raises when a limit is reached) and
    holds the request's estimated size in flight; returns the release, called when it returns."""
    context: ContextGuard | None = None
    """Compacts the conversation near the context window and recovers overflow errors once."""

    async def run(self, state: AgentState) -> TurnOutcome:
        """Loop until the ``stop`` tool is called or the agent pauses for the user.

        Raises:
            KwaakError: provider errors, budgets, repeated tool failures.
            asyncio.CancelledError: the user stopped the agent (history is left consistent).
        """
        idle_replies = 0
        while True:
            release = self.reserve_step(state.history)
            try:
                response = await self._complete_fitting(state)
            finally:
                release()
            message = response.message
            if await self._handle_cut(state, response):
                continue
            if not message.tool_calls:
                idle_replies += 1
                await self.hooks.after_completion(state)
                if self.settings.stop_on_assistant or idle_replies >= self.settings.max_idle_replies:
                    return "paused"
                state.history.append(UserMessage(content=CONTINUE_NUDGE))
                continue
            idle_replies = 0
            stopped = await self._run_tools(state, message.tool_calls)
            await self.hooks.after_completion(state)
            if stopped:
                return "stopped"

    async def _complete_fitting(self, state: AgentState) -> ModelResponse:
        """One request, compacted first when near the window; an overflow is compacted and retried once."""
        if self.context is None:
            return await self._complete(state)
        await self.context.before_request(state.history, state.goal)
        try:
            return await self._complete(state)
        except ContextTooLong as exc:
            await self.context.recover(state.history, state.goal, exc)
        try:
            return await self._complete(state)
        except ContextTooLong as exc:
            msg = f"{exc.message} (even after compacting the conversation)"
            raise ContextTooLong(msg, hint="start a new chat, or use a model with a larger context window") from exc

    async def _handle_cut(self, state: AgentState, response: ModelResponse) -> bool:
        """A reply cut at the output limit is never taken as complete; True when the loop should ask again."""
        if not response.truncated:
            state.cut_replies = 0
            return False
        state.cut_replies += 1
        return handle_cut(
            state.history, response.message, state.cut_replies, await self.model.output_limit(), self.listener.notice
        )

    async def _complete(self, state: AgentState) -> ModelResponse:
        self.listener.activity("running completions")
        state.completion_start = len(state.history)
        message_id = uuid.uuid4().hex[:12]
        with telemetry.span("llm.completion", model=self.model.name) as span:
            response = await self.model.complete(
                messages_to_send(state.history),
                tools=self.registry.specs(),
                on_text_delta=lambda text: self.listener.text_delta(message_id, text),
            )
            span.set_attribute("llm.input_tokens", response.usage.input_tokens)
            span.set_attribute("llm.output_tokens", response.usage.output_tokens)
            span.set_attribute("llm.tool_calls", len(response.message.tool_calls))
        state.history.append(response.message)
        self.listener.usage(response.usage)
        self.listener.assistant_message(message_id, response.message)
        return response

    async def _run_tools(self, state: AgentState, calls: tuple[ToolCall, ...]) -> bool:
        results: dict[str, ToolResult] = {}
        stop_requested = False
        try:
            outcomes = await asyncio.gather(*(self._run_one(call, results) for call in calls))
            stop_requested = any(outcomes)
        finally:
            # Every tool call gets exactly one result, even when cancelled mid-way, so the
            # history stays valid for providers that check tool-call/tool-result pairing.
            for call in calls:
                state.history.append(results.get(call.id) or _interrupted(call))
        self._track_failures(state, calls, results)
        return stop_requested

    async def _run_one(self, call: ToolCall, results: dict[str, ToolResult]) -> bool:
        self.listener.activity(f"running tool {call.name}")
        self.listener.tool_started(call)
        stopped = False
        try:
            with telemetry.span(f"tool.{call.name}", tool=call.name, call_id=call.id) as span:
                result = await self.registry.invoke(call, self.ctx)
                result = await self.hooks.after_tool(call, result)
                span.set_attribute("tool.ok", not result.is_error)
        except StopAgent as stop:
            result, stopped = ToolResult(call_id=call.id, name=call.name, content=stop.message), True
        except KwaakError as exc:
            result = ToolResult(call_id=call.id, name=call.name, content=exc.render(), is_error=True)
        except Exception as exc:
            # A bug in a tool must not kill the agent: log it and let the model see a failure.
            log.exception("tool %s crashed", call.name)
            content = f"Tool `{call.name}` failed with an internal error: {type(exc).__name__}: {exc}"
            result = ToolResult(call_id=call.id, name=call.name, content=content, is_error=True)
        results[call.id] = result
        self.listener.tool_finished(call, result)
        return stopped

    def _track_failures(self, state: AgentState, calls: tuple[ToolCall, ...], results: dict[str, ToolResult]) -> None:
        for call in calls:
            result = results.get(call.id)
            if result is None or not result.is_error:
                continue
            key = (call.name, call.arguments)
            state.failed_calls[key] += 1
            if state.failed_calls[key] > self.settings.max_identical_failures:
                count = state.failed_calls[key]
                msg = f"tool `{call.name}` failed {count} times with the same arguments: {result.content[:200]}"
                raise RepeatedToolFailure(msg, hint="send the agent a message with guidance, or /retry")


def _interrupted(call: ToolCall) -> ToolResult:
    return ToolResult(call_id=call.id, name=call.name, content=INTERRUPTED, is_error=True)
