"""Chat models on the official ``openai`` SDK: OpenAI, Azure OpenAI, OpenRouter, Ollama, any compatible server.

The SDK is imported lazily (on the first request) so importing :mod:`kwaak.llm` stays cheap. The
SDK's own retries are off (``max_retries=0``); :mod:`kwaak.llm.retry` owns the policy.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from kwaak.errors import ContextTooLong, Transient
from kwaak.llm.base import Model, ModelResponse, TextDeltaCallback
from kwaak.llm.errors import map_provider_error
from kwaak.llm.lazy import LazyClient
from kwaak.llm.openai_wire import OpenAITools, ToolCallAssembler, clean_arguments, to_openai_messages, to_openai_tools
from kwaak.llm.pricing import PriceLike, cost_usd
from kwaak.llm.retry import RetryPolicy, with_retries
from kwaak.messages import AssistantMessage, Message, ToolCall, ToolSpec, Usage

if TYPE_CHECKING:
    from openai import AsyncOpenAI
    from openai.types.chat import ChatCompletion
    from openai.types.completion_usage import CompletionUsage

# o-series reasoning models reject `parallel_tool_calls` (kwaak omitted it for o3-mini).
_NO_PARALLEL_TOOL_CALLS = re.compile(r"^(?:.*/)?o\d")
# Reasoning models take `max_completion_tokens` (they reject `max_tokens`).
_REASONING = re.compile(r"^(?:.*/)?(?:o\d|gpt-5)")
CUT_STREAM_OVERFLOW_FRACTION = 0.7
"""A stream cut before any finish, after a prompt this close to the window, is taken as an overflow."""


PASSED_AS_IS = ("messages", "tools")
"""Request fields that are JSON already and go to the SDK in ``extra_body``."""


def sdk_arguments(request: dict[str, Any]) -> dict[str, Any]:
    """``chat.completions.create`` arguments for a JSON-ready ``request``.

    The SDK walks every message and tool schema through its ``TypedDict`` transform before sending
    (~40,000 recursive calls, ~17 ms of CPU per request of a 20-step conversation: the largest cost
    of a step). kwaak's messages and tools are plain JSON already (``openai_wire``), so they travel
    in ``extra_body``, which the SDK merges into the body unchanged; the bodies on the wire are the
    same (checked against the SDK's request types in ``tests/llm/test_sdk_request_types.py``).
    """
    args = {key: value for key, value in request.items() if key not in PASSED_AS_IS}
    args["messages"] = []  # a required argument; replaced by extra_body's
    args["extra_body"] = {key: request[key] for key in PASSED_AS_IS if key in request}
    return args


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenAIClientSpec:
    """How to build the SDK client; holds the resolved key, so never log it."""

    kind: Literal["openai", "azure"] = "openai"
    api_key: str = field(repr=False)
    base_url: str | None = None
    api_version: str | None = None
    deployment: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 300.0


def build_openai_client(spec: OpenAIClientSpec) -> AsyncOpenAI:
    """Create an ``AsyncOpenAI`` / ``AsyncAzureOpenAI`` client without SDK retries."""
    import openai

    if spec.kind == "azure":
        return openai.AsyncAzureOpenAI(
            azure_endpoint=spec.base_url or "",
            azure_deployment=spec.deployment,
            api_version=spec.api_version,
            api_key=spec.api_key,
            max_retries=0,
            timeout=spec.timeout,
            default_headers=dict(spec.headers),
        )
    return openai.AsyncOpenAI(
        api_key=spec.api_key,
        base_url=spec.base_url,
        max_retries=0,
        timeout=spec.timeout,
        default_headers=dict(spec.headers),
    )


def supports_parallel_tool_calls(model: str) -> bool:
    """Whether to send ``parallel_tool_calls=true`` for ``model``."""
    return not _NO_PARALLEL_TOOL_CALLS.match(model)


def output_limit_field(model: str, spec: OpenAIClientSpec) -> str:
    """``max_completion_tokens`` for reasoning models and OpenAI/Azure themselves, else ``max_tokens``.

    Compatible servers (llama.cpp, vLLM, LM Studio, OpenRouter, Ollama's ``/v1``, which maps it to
    ``num_predict``) know ``max_tokens``; OpenAI deprecated it and its reasoning models reject it.
    """
    if _REASONING.match(model) or spec.kind == "azure" or spec.base_url is None:
        return "max_completion_tokens"
    return "max_tokens"


class OpenAIChatModel(Model):
    """A chat model speaking OpenAI's chat-completions API."""

    def __init__(
        self,
        spec: OpenAIClientSpec,
        *,
        model: str,
        provider: str = "OpenAI",
        policy: RetryPolicy | None = None,
        price: PriceLike | None = None,
        reasoning_effort: str | None = None,
    ) -> None:
        self.name = model
        self.provider = provider
        self.reasoning_effort = reasoning_effort
        self._spec = spec
        self._policy = policy or RetryPolicy()
        self._price = price
        self._client: LazyClient[AsyncOpenAI] = LazyClient(functools.partial(build_openai_client, spec))

    async def warm_up(self) -> None:
        """Import the SDK and build the client in a worker thread (the import takes a second or more)."""
        await self._client.get()

    async def _ready(self) -> AsyncOpenAI:
        return await self._client.get()

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        on_text_delta: TextDeltaCallback | None = None,
    ) -> ModelResponse:
        """Send the conversation (streaming when ``on_text_delta`` is given), with retries."""
        wire_tools = to_openai_tools(tools)
        request = self._request(messages, wire_tools)
        request[output_limit_field(self.name, self._spec)] = await self.output_limit()
        request = sdk_arguments(request)

        async def attempt() -> ModelResponse:
            try:
                if on_text_delta is not None:
                    response = await self._stream(request, wire_tools, on_text_delta)
                else:
                    client = await self._ready()
                    response = self._parse(await client.chat.completions.create(**request), wire_tools)
                return self._with_usage(response, messages, tools)
            except Exception as exc:
                mapped = map_provider_error(exc, provider=self.provider)
                if isinstance(mapped, Transient) and on_text_delta is not None:
                    await self._overflow_if_long(messages, tools)  # a cut stream after a huge prompt
                if mapped is None or mapped is exc:
                    raise
                raise mapped from exc

        return await with_retries(attempt, self._policy)

    def _request(self, messages: Sequence[Message], tools: OpenAITools) -> dict[str, Any]:
        request: dict[str, Any] = {"model": self.name, "messages": to_openai_messages(messages)}
        if tools.tools:
            request["tools"] = tools.tools
            request["tool_choice"] = "auto"
            if supports_parallel_tool_calls(self.name):
                request["parallel_tool_calls"] = True
        if self.reasoning_effort:
            request["reasoning_effort"] = self.reasoning_effort
        return request

    def _with_usage(
        self, response: ModelResponse, messages: Sequence[Message], tools: Sequence[ToolSpec]
    ) -> ModelResponse:
        reported = response.usage if response.usage.input_tokens > 0 else None
        usage = self.estimate_usage(messages, tools, response.message, reported)
        if usage.estimated:
            usage = dataclasses.replace(
                usage,
                cost_usd=cost_usd(self._price, input_tokens=usage.input_tokens, output_tokens=usage.output_tokens),
            )
        return dataclasses.replace(response, usage=usage)

    def _parse(self, completion: ChatCompletion, tools: OpenAITools) -> ModelResponse:
        if not completion.choices:
            raise Transient(f"{self.provider} returned no choices", hint="try again; this is usually temporary")
        choice = completion.choices[0]
        calls = tuple(
            ToolCall(
                id=c.id,
                name=c.function.name,
                arguments=clean_arguments(c.function.arguments, tools.optional.get(c.function.name)),
            )
            for c in choice.message.tool_calls or []
            if c.type == "function"
        )
        return ModelResponse(
            message=AssistantMessage(content=choice.message.content or None, tool_calls=calls),
            usage=self._usage(completion.usage),
            model=completion.model or self.name,
            finish_reason=choice.finish_reason,
        )

    async def _stream(
        self,
        request: dict[str, Any],
        tools: OpenAITools,
        on_delta: TextDeltaCallback,
    ) -> ModelResponse:
        client = await self._ready()
        stream = await client.chat.completions.create(**request, stream=True, stream_options={"include_usage": True})
        text: list[str] = []
        assembler = ToolCallAssembler()
        finish: str | None = None
        usage: CompletionUsage | None = None
        model = self.name
        try:
            async for chunk in stream:
                model = chunk.model or model
                usage = chunk.usage or usage
                for choice in chunk.choices[:1]:
                    delta = choice.delta
                    if delta.content:
                        text.append(delta.content)
                        on_delta(delta.content)
                    for call in delta.tool_calls or []:
                        fn = call.function
                        assembler.add(
                            call.index,
                            call_id=call.id,
                            name=fn.name if fn else None,
                            arguments=fn.arguments if fn else None,
                        )
                    finish = choice.finish_reason or finish
        finally:
            await stream.close()
        if finish is None:
            raise Transient(
                f"the {self.provider} stream ended before the reply was complete",
                hint="the connection was cut; kwaak retries automatically",
            )
        message = AssistantMessage(content="".join(text) or None, tool_calls=assembler.calls(tools.optional))
        return ModelResponse(message=message, usage=self._usage(usage), model=model, finish_reason=finish)

    async def _overflow_if_long(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> None:
        """A stream cut after a prompt near the window is taken as an overflow.

        Some servers (llama-cpp-python) end the stream instead of answering with an error when the
        prompt does not fit.
        """
        window = await self.context_window()
        if not window:
            return
        prompt = self.counter.count(messages, tools)
        if prompt >= CUT_STREAM_OVERFLOW_FRACTION * window:
            msg = (
                f"{self.provider} ended the stream right after a prompt of about {prompt:,} tokens, near the "
                f"model's context window of {window:,} tokens: the prompt most likely exceeded the context window"
            )
            raise ContextTooLong(msg, hint="kwaak compacts the conversation and retries once")

    def _usage(self, usage: CompletionUsage | None) -> Usage:
        if usage is None:
            return Usage(requests=1)
        details = usage.prompt_tokens_details
        cached = (details.cached_tokens or 0) if details is not None else 0
        return Usage(
            input_tokens=usage.prompt_tokens,
            output_tokens=usage.completion_tokens,
            cached_tokens=cached,
            cost_usd=cost_usd(
                self._price,
                input_tokens=usage.prompt_tokens,
                output_tokens=usage.completion_tokens,
                cached_tokens=cached,
            ),
            requests=1,
        )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()
