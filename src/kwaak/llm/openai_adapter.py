"""Chat models on OpenAI's chat-completions wire: OpenAI, Azure OpenAI, OpenRouter, Ollama, any compatible server.

kwaak speaks the HTTP wire itself (:mod:`kwaak.llm.http`): the request body is the JSON kwaak builds
(:mod:`kwaak.llm.openai_wire`), checked against the ``openai`` SDK's request types in the tests;
replies are parsed from JSON or SSE. No SDK is imported (it cost ~0.25 s at start-up and its request
transform was the largest CPU cost of a step). :mod:`kwaak.llm.retry` owns the retry policy.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote, urlencode

from kwaak import __version__
from kwaak.errors import ContextTooLong, Transient
from kwaak.llm import sse
from kwaak.llm.base import Model, ModelResponse, TextDeltaCallback
from kwaak.llm.errors import map_provider_error
from kwaak.llm.http import BadResponse, HTTPClient, Response, StreamErrorEvent
from kwaak.llm.openai_wire import OpenAITools, ToolCallAssembler, clean_arguments, to_openai_messages, to_openai_tools
from kwaak.llm.pricing import PriceLike, cost_usd
from kwaak.llm.retry import RetryPolicy, with_retries
from kwaak.messages import AssistantMessage, Message, ToolCall, ToolSpec, Usage

# o-series reasoning models reject `parallel_tool_calls` (kwaak omitted it for o3-mini).
_NO_PARALLEL_TOOL_CALLS = re.compile(r"^(?:.*/)?o\d")
# Reasoning models take `max_completion_tokens` (they reject `max_tokens`).
_REASONING = re.compile(r"^(?:.*/)?(?:o\d|gpt-5)")
CUT_STREAM_OVERFLOW_FRACTION = 0.7
"""A stream cut before any finish, after a prompt this close to the window, is taken as an overflow."""


DEFAULT_BASE_URL = "https://api.openai.com/v1"
"""Where requests go without ``base_url`` (or ``OPENAI_BASE_URL``), as the SDK did."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenAIClientSpec:
    """Where and how to send requests; holds the resolved key, so never log it."""

    kind: Literal["openai", "azure"] = "openai"
    api_key: str = field(repr=False)
    base_url: str | None = None
    api_version: str | None = None
    deployment: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 300.0

    def url(self, path: str, model: str) -> str:
        """The URL of an endpoint (``/chat/completions``, ``/embeddings``), built as the SDK built it.

        Azure: ``{base_url}/openai/deployments/{deployment}{path}?api-version=...`` (the deployment
        defaults to the model's name); others: ``{base_url}{path}``, with ``OPENAI_BASE_URL`` or the
        public API when no ``base_url`` is configured.
        """
        if self.kind == "azure":
            endpoint = (self.base_url or "").rstrip("/")  # the factory requires base_url and api_version
            deployment = quote(self.deployment or model, safe="")
            version = self.api_version or ""
            return f"{endpoint}/openai/deployments/{deployment}{path}?{urlencode({'api-version': version})}"
        return (self.base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/") + path

    def request_headers(self) -> dict[str, str]:
        """Headers of every request: JSON, the key (``api-key`` on Azure, else a bearer token), org and project."""
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": f"kwaak/{__version__}",
        }
        if self.kind == "azure":
            headers["api-key"] = self.api_key
        else:
            headers["Authorization"] = f"Bearer {self.api_key}"
        for header, variable in (("OpenAI-Organization", "OPENAI_ORG_ID"), ("OpenAI-Project", "OPENAI_PROJECT_ID")):
            if os.environ.get(variable):
                headers[header] = os.environ[variable]
        return headers | dict(self.headers)


def encode_json(body: object) -> bytes:
    """A request body: compact UTF-8 JSON."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


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
        self._http = HTTPClient()

    @property
    def http_client(self) -> HTTPClient:
        """The keep-alive client of this model (shared by its concurrent requests)."""
        return self._http

    @property
    def url(self) -> str:
        """Where chat requests go."""
        return self._spec.url("/chat/completions", self.name)

    async def warm_up(self) -> None:
        """Open the connection to the provider (TCP and TLS) ahead of the first request."""
        await self._http.warm_up(self.url)

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
        if on_text_delta is not None:
            request["stream"] = True
            request["stream_options"] = {"include_usage": True}
        body = encode_json(request)
        url = self.url

        async def attempt() -> ModelResponse:
            try:
                async with self._http.stream(
                    "POST", url, headers=self._spec.request_headers(), body=body, timeout=self._spec.timeout
                ) as reply:
                    await reply.raise_for_status()
                    if on_text_delta is not None:
                        response = await self._stream(reply, wire_tools, on_text_delta)
                    else:
                        await reply.aread()
                        response = self._parse(reply.json(), wire_tools)
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

    def _parse(self, completion: object, tools: OpenAITools) -> ModelResponse:
        if not isinstance(completion, dict):
            raise BadResponse("the reply is not a chat completion object")
        if completion.get("error"):
            raise StreamErrorEvent(completion)
        choices = completion.get("choices")
        if not choices or not isinstance(choices, list):
            raise Transient(f"{self.provider} returned no choices", hint="try again; this is usually temporary")
        choice = _dict(choices[0])
        message = _dict(choice.get("message"))
        calls: list[ToolCall] = []
        for call in message.get("tool_calls") or []:
            function = _dict(_dict(call).get("function"))
            if _dict(call).get("type", "function") != "function" or not isinstance(function.get("name"), str):
                continue
            arguments = function.get("arguments")
            calls.append(
                ToolCall(
                    id=str(call.get("id") or f"call_{len(calls)}"),
                    name=function["name"],
                    arguments=clean_arguments(
                        arguments if isinstance(arguments, str) else "", tools.optional.get(function["name"])
                    ),
                )
            )
        content = message.get("content")
        finish = choice.get("finish_reason")
        return ModelResponse(
            message=AssistantMessage(
                content=content if isinstance(content, str) and content else None, tool_calls=tuple(calls)
            ),
            usage=self._usage(completion.get("usage")),
            model=str(completion.get("model") or self.name),
            finish_reason=finish if isinstance(finish, str) else None,
        )

    async def _stream(self, reply: Response, tools: OpenAITools, on_delta: TextDeltaCallback) -> ModelResponse:
        text: list[str] = []
        assembler = ToolCallAssembler()
        finish: str | None = None
        usage: object = None
        model = self.name
        done = False
        async for event in sse.events(reply):
            if done or event.data.startswith("[DONE]"):
                done = True  # read on to the end of the body, so the connection can be reused
                continue
            chunk = json.loads(event.data)
            if not isinstance(chunk, dict):
                continue
            if chunk.get("error") or event.event == "error":
                raise StreamErrorEvent(chunk)
            model = chunk.get("model") or model
            usage = chunk.get("usage") or usage
            choices = chunk.get("choices")
            for choice in (choices if isinstance(choices, list) else [])[:1]:
                delta = _dict(_dict(choice).get("delta"))
                content = delta.get("content")
                if isinstance(content, str) and content:
                    text.append(content)
                    on_delta(content)
                for call in delta.get("tool_calls") or []:
                    call = _dict(call)
                    fn = _dict(call.get("function"))
                    index = call.get("index")
                    assembler.add(
                        index if isinstance(index, int) else 0,
                        call_id=_text(call.get("id")),
                        name=_text(fn.get("name")),
                        arguments=_text(fn.get("arguments")),
                    )
                finish = _text(_dict(choice).get("finish_reason")) or finish
        if finish is None:
            raise Transient(
                f"the {self.provider} stream ended before the reply was complete",
                hint="the connection was cut; kwaak retries automatically",
            )
        message = AssistantMessage(content="".join(text) or None, tool_calls=assembler.calls(tools.optional))
        return ModelResponse(message=message, usage=self._usage(usage), model=str(model), finish_reason=finish)

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

    def _usage(self, raw: object) -> Usage:
        usage = _dict(raw)
        if not usage:
            return Usage(requests=1)
        prompt = _count(usage.get("prompt_tokens"))
        completion = _count(usage.get("completion_tokens"))
        cached = _count(_dict(usage.get("prompt_tokens_details")).get("cached_tokens"))
        return Usage(
            input_tokens=prompt,
            output_tokens=completion,
            cached_tokens=cached,
            cost_usd=cost_usd(self._price, input_tokens=prompt, output_tokens=completion, cached_tokens=cached),
            requests=1,
        )

    async def aclose(self) -> None:
        """Close the idle connections."""
        await self._http.aclose()


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
