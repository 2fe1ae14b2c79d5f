"""Chat model on Anthropic's messages API, with prompt caching.

kwaak speaks the HTTP wire itself (:mod:`kwaak.llm.http`, SSE events in :mod:`kwaak.llm.sse`):
``POST {base_url}/v1/messages`` with ``x-api-key`` and ``anthropic-version: 2023-06-01``, as the
``anthropic`` SDK did (its request types check the bodies in the tests). :mod:`kwaak.llm.retry`
owns the retry policy.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kwaak import __version__
from kwaak.errors import Transient
from kwaak.llm import sse
from kwaak.llm.anthropic_wire import to_anthropic, to_anthropic_tools
from kwaak.llm.base import Model, ModelResponse, TextDeltaCallback
from kwaak.llm.errors import map_provider_error
from kwaak.llm.http import BadResponse, HTTPClient, Response, StreamErrorEvent
from kwaak.llm.openai_adapter import encode_json
from kwaak.llm.pricing import PriceLike, cost_usd
from kwaak.llm.retry import RetryPolicy, with_retries
from kwaak.messages import AssistantMessage, Message, ToolCall, ToolSpec, Usage

DEFAULT_BASE_URL = "https://api.anthropic.com"
"""Where requests go without ``base_url`` (or ``ANTHROPIC_BASE_URL``), as the SDK did."""
API_VERSION = "2023-06-01"


@dataclass(frozen=True, slots=True, kw_only=True)
class AnthropicClientSpec:
    """Where and how to send requests; holds the resolved key, so never log it."""

    api_key: str = field(repr=False)
    base_url: str | None = None
    timeout: float = 300.0

    @property
    def url(self) -> str:
        """The messages endpoint."""
        base = self.base_url or os.environ.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL
        return base.rstrip("/") + "/v1/messages"

    def request_headers(self) -> dict[str, str]:
        """Headers of every request (the key in ``x-api-key``)."""
        return {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": f"kwaak/{__version__}",
            "x-api-key": self.api_key,
            "anthropic-version": API_VERSION,
        }


@dataclass
class _UsageCounter:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read: int = 0
    cache_write: int = 0

    def update(self, usage: object) -> None:
        """Take the non-null counters of a ``usage`` object."""
        for attr, wire in (
            ("input_tokens", "input_tokens"),
            ("output_tokens", "output_tokens"),
            ("cache_read", "cache_read_input_tokens"),
            ("cache_write", "cache_creation_input_tokens"),
        ):
            value = _dict(usage).get(wire)
            if isinstance(value, int) and not isinstance(value, bool):
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
        self._http = HTTPClient()

    @property
    def label(self) -> str:
        """The model's name with its thinking budget, for status lines."""
        return f"{self.name} (thinking {self.thinking_budget:,} tokens)" if self.thinking_budget else self.name

    async def warm_up(self) -> None:
        """Open the connection to the provider (TCP and TLS) ahead of the first request."""
        await self._http.warm_up(self._spec.url)

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

        if on_text_delta is not None:
            request["stream"] = True
        body = encode_json(request)

        async def attempt() -> ModelResponse:
            try:
                async with self._http.stream(
                    "POST", self._spec.url, headers=self._spec.request_headers(), body=body, timeout=self._spec.timeout
                ) as reply:
                    await reply.raise_for_status()
                    if on_text_delta is not None:
                        response = await self._stream(reply, on_text_delta)
                    else:
                        await reply.aread()
                        response = self._parse(reply.json())
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

    def _parse(self, message: object) -> ModelResponse:
        if not isinstance(message, dict) or not isinstance(message.get("content"), list):
            if isinstance(message, dict) and message.get("type") == "error":
                raise StreamErrorEvent(message)
            raise BadResponse("the reply is not a messages API message")
        blocks = [_dict(b) for b in message["content"]]
        text = "".join(str(b.get("text") or "") for b in blocks if b.get("type") == "text")
        calls = tuple(
            ToolCall(id=str(b.get("id") or ""), name=str(b.get("name") or ""), arguments=json.dumps(b.get("input", {})))
            for b in blocks
            if b.get("type") == "tool_use"
        )
        reasoning = tuple(
            ("thinking", str(b.get("thinking") or ""), str(b.get("signature") or ""))
            if b.get("type") == "thinking"
            else ("redacted_thinking", str(b.get("data") or ""), "")
            for b in blocks
            if b.get("type") in ("thinking", "redacted_thinking")
        )
        counter = _UsageCounter()
        counter.update(message.get("usage"))
        stop = message.get("stop_reason")
        return ModelResponse(
            message=AssistantMessage(content=text or None, tool_calls=calls, reasoning=reasoning),
            usage=self._usage(counter),
            model=str(message.get("model") or self.name),
            finish_reason=stop if isinstance(stop, str) else None,
        )

    async def _stream(self, reply: Response, on_delta: TextDeltaCallback) -> ModelResponse:
        state = _StreamState(model=self.name)
        async for event in sse.events(reply):
            if state.done:
                continue  # read on to the end of the body, so the connection can be reused
            data = json.loads(event.data)
            if event.event == "error" or _dict(data).get("type") == "error":
                raise StreamErrorEvent(data)
            _apply_event(state, _dict(data), on_delta)
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
        """Close the idle connections."""
        await self._http.aclose()


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _apply_event(state: _StreamState, event: dict[str, Any], on_delta: TextDeltaCallback) -> None:
    kind = event.get("type")
    index = event.get("index")
    if kind == "message_start":
        message = _dict(event.get("message"))
        state.model = _str(message.get("model")) or state.model
        state.usage.update(message.get("usage"))
    elif kind == "content_block_start" and isinstance(index, int):
        block = _dict(event.get("content_block"))
        if block.get("type") == "tool_use":
            state.calls[index] = (_str(block.get("id")), _str(block.get("name")), [])
        elif block.get("type") == "thinking":
            state.reasoning[index] = ("thinking", [], [])
        elif block.get("type") == "redacted_thinking":
            state.reasoning[index] = ("redacted_thinking", [_str(block.get("data"))], [])
    elif kind == "content_block_delta":
        delta = _dict(event.get("delta"))
        kind = delta.get("type")
        if kind == "text_delta" and (text := _str(delta.get("text"))):
            state.text.append(text)
            on_delta(text)
        elif kind == "input_json_delta" and index in state.calls:
            state.calls[index][2].append(_str(delta.get("partial_json")))
        elif kind == "thinking_delta" and index in state.reasoning:
            state.reasoning[index][1].append(_str(delta.get("thinking")))
        elif kind == "signature_delta" and index in state.reasoning:
            state.reasoning[index][2].append(_str(delta.get("signature")))
    elif kind == "message_delta":
        state.stop_reason = _str(_dict(event.get("delta")).get("stop_reason")) or state.stop_reason
        state.usage.update(event.get("usage"))
    elif kind == "message_stop":
        state.done = True
