"""The model and embedder interfaces every provider adapter implements."""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kwaak.messages import AssistantMessage, Message, ToolSpec, Usage, UserMessage

if TYPE_CHECKING:
    from kwaak.llm.tokens import TokenCounter

TextDeltaCallback = Callable[[str], None]
TRUNCATED_FINISH_REASONS = frozenset({"length", "max_tokens", "max_output_tokens"})
"""Finish/stop reasons meaning "cut at the output limit" (OpenAI, Anthropic, Responses)."""
CALIBRATION_MIN_TOKENS = 500
"""Prompts smaller than this do not teach the token counter (chat-template overhead dominates them)."""


@dataclass
class ContextLimits:
    """A model's context window and output limit: configured, reported by the server, or known."""

    window: int | None = None
    """``context_window`` from the config (wins over everything)."""
    max_output: int | None = None
    """``max_output_tokens`` from the config."""
    probe: Callable[[], Awaitable[int | None]] | None = None
    """Asks a self-hosted server for its window (llama.cpp, Ollama, vLLM, LM Studio)."""
    _resolved: bool = field(default=False, repr=False)
    _lock: asyncio.Lock | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelResponse:
    """One model reply with its usage."""

    message: AssistantMessage
    usage: Usage
    model: str = ""
    finish_reason: str | None = None

    @property
    def truncated(self) -> bool:
        """The reply was cut at the output limit (``finish_reason: length`` / ``stop_reason: max_tokens``)."""
        return self.finish_reason in TRUNCATED_FINISH_REASONS


class Model(abc.ABC):
    """A chat model. Adapters hold every provider quirk; the agent loop only sees this."""

    name: str = "model"
    limits: ContextLimits | None = None
    reasoning_effort: str | None = None
    """OpenAI ``reasoning_effort`` sent with each request (``None``: the provider's default)."""
    _counter: TokenCounter | None = None

    @property
    def label(self) -> str:
        """The model's name with its reasoning setting, for status lines."""
        return f"{self.name} (reasoning {self.reasoning_effort})" if self.reasoning_effort else self.name

    @property
    def counter(self) -> TokenCounter:
        """The token counter of this model (a real BPE when installed, else a calibrated estimate)."""
        if self._counter is None or self._counter.model != self.name:
            from kwaak.llm.tokens import TokenCounter

            self._counter = TokenCounter(self.name, background=True)
        return self._counter

    async def context_window(self) -> int | None:
        """Tokens this model accepts: configured, else reported by the server (asked once), else known."""
        from kwaak.llm.context import known_context_window

        limits = self.limits = self.limits or ContextLimits()
        if limits.window is None and limits.probe is not None and not limits._resolved:
            limits._lock = limits._lock or asyncio.Lock()
            async with limits._lock:
                if not limits._resolved:
                    limits.window = await limits.probe()
                    limits._resolved = True
        return limits.window or known_context_window(self.name)

    async def output_limit(self) -> int:
        """``max_output_tokens``: configured, else the model's default for its window."""
        from kwaak.llm.context import default_max_output

        if self.limits is not None and self.limits.max_output:
            return self.limits.max_output
        return default_max_output(self.name, await self.context_window())

    def estimate_usage(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], reply: AssistantMessage, usage: Usage | None
    ) -> Usage:
        """``usage`` as reported, teaching the counter the real prompt size; estimated when missing.

        A server that reports no usage (llama-cpp-python ignores ``stream_options``) would make every
        step cost 0 tokens and budgets never trigger; the estimate is flagged ``estimated``.
        """
        raw = self.counter.raw(messages, tools)
        if usage is not None and usage.input_tokens > 0:
            if raw >= CALIBRATION_MIN_TOKENS:  # tiny prompts are mostly template overhead
                self.counter.observe(raw, usage.input_tokens)
            return usage
        calls = "".join(c.name + c.arguments for c in reply.tool_calls)
        return Usage(
            input_tokens=self.counter.count(messages, tools),
            output_tokens=self.counter.count_text((reply.content or "") + calls),
            requests=1,
            estimated=True,
        )

    @abc.abstractmethod
    async def complete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        on_text_delta: TextDeltaCallback | None = None,
    ) -> ModelResponse:
        """Send the conversation and return the reply.

        Args:
            messages: the history to send (already trimmed to the latest summary).
            tools: tool specs offered to the model.
            on_text_delta: if given, the adapter streams and calls it with each text fragment. When a
                failed attempt is retried, the fragments start over; the returned message is authoritative.

        Raises:
            kwaak.errors.ProviderError: a mapped provider failure (after retries).
        """

    async def complete_prompt(self, text: str) -> ModelResponse:
        """Single-turn request without tools: one user message; returns the reply with its usage."""
        return await self.complete([UserMessage(content=text)])

    async def prompt(self, text: str) -> str:
        """Single-turn convenience: send one user message and return the reply text."""
        response = await self.complete_prompt(text)
        return response.message.content or ""

    async def warm_up(self) -> None:  # noqa: B027 - optional hook
        """Prepare expensive resources (e.g. open the provider connection) ahead of the first request; optional."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release HTTP clients."""


class Embedder(abc.ABC):
    """Turns texts into dense vectors."""

    name: str = "embedder"
    dimensions: int = 0
    batch_size: int = 32

    @abc.abstractmethod
    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed ``texts`` (one vector each, same order).

        Raises:
            kwaak.errors.ProviderError: a mapped provider failure.
        """

    async def warm_up(self) -> None:  # noqa: B027 - optional hook
        """Load expensive resources (a local model, a connection) ahead of the first call; optional."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release clients."""
