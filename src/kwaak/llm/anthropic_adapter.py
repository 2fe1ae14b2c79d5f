"""Chat model on the official ``anthropic`` SDK (messages API), with prompt caching.

The SDK is imported lazily (on the first request). SDK retries are off; :mod:`kwaak.llm.retry`
owns the policy.
"""

from __future__ import annotations

import functools
import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kwaak.errors import Transient
from kwaak.llm.anthropic_wire import to_anthropic, to_anthropic_tools
from kwaak.llm.base import Model, ModelResponse, TextDeltaCallback
from kwaak.llm.errors import map_provider_error
from kwaak.llm.lazy import LazyClient
from kwaak.llm.pricing import PriceLike, cost_usd
from kwaak.llm.retry import RetryPolicy, with_retries
from kwaak.messages import AssistantMessage, Message, ToolCall, ToolSpec, Usage

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic
    from anthropic.types import Message as WireMessage


@dataclass(frozen=True, slots=True, kw_only=True)
class AnthropicClientSpec:
    """How to build the SDK client; holds the resolved key, so never log it."""

    api_key: str = field(repr=False)
    base_url: str | None = None
    timeout: float = 300.0


def build_anthropic_client(spec: AnthropicClientSpec) -> AsyncAnthropic:
    """Create an ``AsyncAnthropic`` client without SDK retries (imports the SDK)."""
    import anthropic

    # The SDK warns about deprecated models on every request; kwaak reports errors, not warnings.
    warnings.filterwarnings("ignore", message=r"The model .* is deprecated", category=DeprecationWarning)
    return anthropic.AsyncAnthropic(api_key=spec.api_key, base_url=spec.base_url, max_retries=0, timeout=spec.timeout)


@dataclass
class _UsageCounter:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read: int = 0
    cache_write: int = 0

    def update(self, usage: Any) -> None:
        """Take the non-null counters of an SDK usage object."""
        for attr, wire in (
            ("input_tokens", "input_tokens"),
            ("output_tokens", "output_tokens"),
            ("cache_read", "cache_read_input_tokens"),
            ("cache_write", "cache_creation_input_tokens"),
        ):
            value = getattr(usage, wire, None)
            if isinstance(value, int):
                setattr(self, attr, value)


@dataclass
class _StreamState:
    text: list[str] = field(default_factory=list)
    calls: dict[int, tuple[str, str, list[str]]] = field(default_factory=dict)
    reasoning: dict[int, tuple[str, list[str], list[str]]] = field(default_factory=dict)
    """Thinking blocks by index: (type, text or data parts, signature parts)."""
    usage: _UsageCounter = field(default_factory=_UsageCounter)
    stop_reason: str | None = None
    model: str = ""
    done: bool = False


MIN_ANSWER_TOKENS = 2048
"""Tokens left for the answer beyond the thinking budget."""


class AnthropicModel(Model):
    """A chat model speaking Anthropic's messages API."""

    provider = "Anthropic"

    def __init__(
        self,
        spec: AnthropicClientSpec,
        *,
        model: str,
        policy: RetryPolicy | None = None,
        price: PriceLike | None = None,
        thinking_budget: int | None = None,
    ) -> None:
        self.name = model
        self.thinking_budget = thinking_budget
        self._spec = spec
        self._policy = policy or RetryPolicy()
        self._price = price
        self._client: LazyClient[AsyncAnthropic] = LazyClient(functools.partial(build_anthropic_client, spec))

    @property
    def label(self) -> str:
        """The model's name with its thinking budget, for status lines."""
        return f"{self.name} (thinking {self.thinking_budget:,} tokens)" if self.thinking_budget else self.name

    async def warm_up(self) -> None:
        """Import the SDK and build the client in a worker thread (the import takes seconds)."""
        await self._client.get()

    async def _ready(self) -> AsyncAnthropic:
        return await self._client.get()

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        on_text_delta: TextDeltaCallback | None = None,
    ) -> ModelResponse:
        """Send the conversation (streaming when ``on_text_delta`` is given), with retries."""
        request = self._request(messages, tools)
        request["max_tokens"] = await self.output_limit()
        if self.thinking_budget:
            # Extended thinking: the budget counts towards max_tokens, which must exceed it.
            request["thinking"] = {"type": "enabled", "budget_tokens": self.thinking_budget}
            request["max_tokens"] = max(request["max_tokens"], self.thinking_budget + MIN_ANSWER_TOKENS)

        async def attempt() -> ModelResponse:
            try:
                if on_text_delta is not None:
                    response = await self._stream(request, on_text_delta)
                else:
                    client = await self._ready()
                    response = self._parse(await client.messages.create(**request))
                self.estimate_usage(messages, tools, response.message, response.usage)
                return response
            except Exception as exc:
                mapped = map_provider_error(exc, provider=self.provider)
                if mapped is None or mapped is exc:
                    raise
                raise mapped from exc

        return await with_retries(attempt, self._policy)

    def _request(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> dict[str, Any]:
        wire = to_anthropic(messages)
        request: dict[str, Any] = {"model": self.name, "messages": wire.messages}
        if wire.system:
            request["system"] = wire.system
        if tools:
            request["tools"] = to_anthropic_tools(tools)
            request["tool_choice"] = {"type": "auto"}
        return request

    def _parse(self, message: WireMessage) -> ModelResponse:
        text = "".join(b.text for b in message.content if b.type == "text")
        calls = tuple(
            ToolCall(id=b.id, name=b.name, arguments=json.dumps(b.input))
            for b in message.content
            if b.type == "tool_use"
        )
        reasoning = tuple(
            ("thinking", b.thinking, b.signature) if b.type == "thinking" else ("redacted_thinking", b.data, "")
            for b in message.content
            if b.type in ("thinking", "redacted_thinking")
        )
        counter = _UsageCounter()
        counter.update(message.usage)
        return ModelResponse(
            message=AssistantMessage(content=text or None, tool_calls=calls, reasoning=reasoning),
            usage=self._usage(counter),
            model=message.model or self.name,
            finish_reason=message.stop_reason,
        )

    async def _stream(self, request: dict[str, Any], on_delta: TextDeltaCallback) -> ModelResponse:
        client = await self._ready()
        stream = await client.messages.create(**request, stream=True)
        state = _StreamState(model=self.name)
        try:
            async for event in stream:
                _apply_event(state, event, on_delta)
        finally:
            await stream.close()
        if not state.done:
            raise Transient(
                "the Anthropic stream ended before the reply was complete",
                hint="the connection was cut; kwaak retries automatically",
            )
        calls = tuple(
            ToolCall(id=cid, name=name, arguments="".join(parts) or "{}")
            for _, (cid, name, parts) in sorted(state.calls.items())
        )
        reasoning = tuple(
            (kind, "".join(parts), "".join(signature))
            for _, (kind, parts, signature) in sorted(state.reasoning.items())
        )
        message = AssistantMessage(content="".join(state.text) or None, tool_calls=calls, reasoning=reasoning)
        return ModelResponse(
            message=message, usage=self._usage(state.usage), model=state.model, finish_reason=state.stop_reason
        )

    def _usage(self, counter: _UsageCounter) -> Usage:
        # Anthropic's input_tokens excludes cache reads and writes; ours is the whole prompt.
        total_in = counter.input_tokens + counter.cache_read + counter.cache_write
        return Usage(
            input_tokens=total_in,
            output_tokens=counter.output_tokens,
            cached_tokens=counter.cache_read,
            cost_usd=cost_usd(
                self._price,
                input_tokens=total_in,
                output_tokens=counter.output_tokens,
                cached_tokens=counter.cache_read,
                cache_write_tokens=counter.cache_write,
            ),
            requests=1,
        )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()


def _apply_event(state: _StreamState, event: Any, on_delta: TextDeltaCallback) -> None:
    kind = event.type
    if kind == "message_start":
        state.model = event.message.model or state.model
        state.usage.update(event.message.usage)
    elif kind == "content_block_start" and event.content_block.type == "tool_use":
        state.calls[event.index] = (event.content_block.id, event.content_block.name, [])
    elif kind == "content_block_start" and event.content_block.type == "thinking":
        state.reasoning[event.index] = ("thinking", [], [])
    elif kind == "content_block_start" and event.content_block.type == "redacted_thinking":
        state.reasoning[event.index] = ("redacted_thinking", [event.content_block.data], [])
    elif kind == "content_block_delta":
        delta = event.delta
        if delta.type == "text_delta" and delta.text:
            state.text.append(delta.text)
            on_delta(delta.text)
        elif delta.type == "input_json_delta" and event.index in state.calls:
            state.calls[event.index][2].append(delta.partial_json)
        elif delta.type == "thinking_delta" and event.index in state.reasoning:
            state.reasoning[event.index][1].append(delta.thinking)
        elif delta.type == "signature_delta" and event.index in state.reasoning:
            state.reasoning[event.index][2].append(delta.signature)
    elif kind == "message_delta":
        state.stop_reason = event.delta.stop_reason or state.stop_reason
        state.usage.update(event.usage)
    elif kind == "message_stop":
        state.done = True
