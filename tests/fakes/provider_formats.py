"""Wire formats of the fake provider server: script items, response bodies and request validation.

Pure functions (no sockets) so the server module stays about transport. Shapes follow the real
OpenAI chat-completions and Anthropic messages APIs closely enough for the official SDKs.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

FaultKind = Literal["status", "reset", "hang", "truncate", "garbage", "bad_utf8", "stream_error"]
OverflowShape = Literal["auto", "openai", "anthropic", "llamacpp", "cut"]
WindowApi = Literal["llamacpp", "ollama", "vllm"]


@dataclass(frozen=True)
class FakeToolCall:
    """A tool call the fake model makes; ``arguments`` is a dict or raw JSON text."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    def arguments_json(self) -> str:
        """The arguments as JSON text (raw strings pass through, even if invalid JSON)."""
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)


@dataclass(frozen=True)
class Reply:
    """A successful chat reply: text and/or tool calls, with optional usage override and delay."""

    text: str | None = None
    tool_calls: tuple[FakeToolCall, ...] = ()
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    delay: float = 0.0
    truncated: bool = False
    """Cut at the output limit: ``finish_reason: length`` / ``stop_reason: max_tokens``."""
    thinking: str | None = None
    """Anthropic extended thinking: a signed ``thinking`` block before the text and tool calls."""

    def finish(self, api: str) -> str:
        """The finish (OpenAI) or stop (Anthropic) reason of this reply."""
        if self.truncated:
            return "max_tokens" if api == "anthropic" else "length"
        if self.tool_calls:
            return "tool_use" if api == "anthropic" else "tool_calls"
        return "end_turn" if api == "anthropic" else "stop"


@dataclass(frozen=True)
class EmbeddingReply:
    """Explicit vectors for the next embeddings request."""

    vectors: tuple[tuple[float, ...], ...]


@dataclass(frozen=True)
class Fault:
    """An injected failure: an HTTP status, a connection reset, a hang, a truncated stream or garbage JSON."""

    kind: FaultKind = "status"
    status: int = 500
    message: str = "injected failure"
    error_type: str | None = None
    code: str | None = None
    retry_after: str | None = None
    hang_seconds: float = 30.0

    @classmethod
    def http(
        cls,
        status: int,
        message: str = "injected failure",
        *,
        retry_after: float | str | None = None,
        code: str | None = None,
    ) -> Fault:
        """An HTTP error response with the provider's error body."""
        return cls(
            status=status, message=message, retry_after=None if retry_after is None else str(retry_after), code=code
        )

    @classmethod
    def context_too_long(cls) -> Fault:
        """A 400 like the one OpenAI sends when the prompt exceeds the context window."""
        return cls(
            status=400,
            code="context_length_exceeded",
            message="This model's maximum context length is 128000 tokens. However, your messages resulted "
            "in 200000 tokens. Please reduce the length of the messages.",
        )

    @classmethod
    def reset(cls) -> Fault:
        """Close the connection abruptly (TCP RST) without answering."""
        return cls(kind="reset")

    @classmethod
    def hang(cls, seconds: float = 30.0) -> Fault:
        """Accept the request and never answer (until ``seconds`` pass or the server stops)."""
        return cls(kind="hang", hang_seconds=seconds)

    @classmethod
    def truncate(cls) -> Fault:
        """Start a streamed reply and cut the connection in the middle."""
        return cls(kind="truncate")

    @classmethod
    def garbage(cls) -> Fault:
        """Answer 200 with a body that is not JSON."""
        return cls(kind="garbage")

    @classmethod
    def bad_utf8(cls) -> Fault:
        """Answer 200 with a JSON body (or stream) whose text holds bytes that are not valid UTF-8."""
        return cls(kind="bad_utf8")

    @classmethod
    def stream_error(cls, error_type: str = "overloaded_error", message: str = "Overloaded") -> Fault:
        """Start a streamed reply, then send an error event (as Anthropic does when overloaded).

        Non-streamed requests get the matching HTTP status instead.
        """
        status = {"overloaded_error": 529, "rate_limit_error": 429, "invalid_request_error": 400}.get(error_type, 500)
        return cls(kind="stream_error", status=status, error_type=error_type, message=message)


ScriptItem = Reply | EmbeddingReply | Fault


def reply(text: str) -> Reply:
    """A text-only reply."""
    return Reply(text=text)


def tool_call(name: str, *, text: str | None = None, **arguments: Any) -> Reply:
    """A reply that calls one tool."""
    return Reply(text=text, tool_calls=(FakeToolCall(name, arguments),))


def item_from_json(data: dict[str, Any]) -> ScriptItem:
    """Parse one script entry of ``--script FILE`` (``{"text", "tool_calls", "fault", "status", ...}``)."""
    if "vectors" in data:
        return EmbeddingReply(tuple(tuple(float(x) for x in v) for v in data["vectors"]))
    if "fault" in data or "status" in data:
        retry_after = data.get("retry_after")
        return Fault(
            kind=data.get("fault", "status"),
            status=int(data.get("status", 500)),
            message=data.get("message", "injected failure"),
            code=data.get("code"),
            retry_after=None if retry_after is None else str(retry_after),
            hang_seconds=float(data.get("hang_seconds", 30)),
        )
    calls = tuple(FakeToolCall(c["name"], c.get("arguments", {}), c.get("id")) for c in data.get("tool_calls", []))
    return Reply(text=data.get("text"), tool_calls=calls, delay=float(data.get("delay", 0)))


def default_reply(body: dict[str, Any]) -> Reply:
    """What the fake says when its script is empty: call ``stop`` if offered, else "Kwek"."""
    for tool in body.get("tools") or []:
        name = tool.get("name") or (tool.get("function") or {}).get("name")
        if name == "stop":
            return Reply(tool_calls=(FakeToolCall("stop", {}),))
    return Reply(text="Kwek")


def estimate_tokens(value: object) -> int:
    """A rough prompt size (4 characters per token)."""
    return max(1, math.ceil(len(json.dumps(value)) / 4))


def fake_vector(text: str, dimensions: int) -> list[float]:
    """A deterministic unit vector for ``text``."""
    digest = hashlib.sha256(text.encode()).digest()
    raw = [(digest[i % len(digest)] - 127.5) / 127.5 for i in range(dimensions)]
    norm = math.sqrt(sum(v * v for v in raw)) or 1.0
    return [v / norm for v in raw]


# ------------------------------------------------------------------------------------------
# errors
# ------------------------------------------------------------------------------------------


def error_body(api: str, fault: Fault) -> dict[str, Any]:
    """The JSON error body a provider sends with an HTTP error."""
    if api == "anthropic":
        kind = fault.error_type or _anthropic_error_type(fault.status)
        return {"type": "error", "error": {"type": kind, "message": fault.message}}
    kind = fault.error_type or ("invalid_request_error" if fault.status < 500 else "server_error")
    return {"error": {"message": fault.message, "type": kind, "param": None, "code": fault.code}}


def overflow_error(shape: str, tokens: int, window: int) -> tuple[int, dict[str, Any]]:
    """The status and body a provider sends for a prompt larger than its context window."""
    if shape == "anthropic":
        message = f"prompt is too long: {tokens} tokens > {window} maximum"
        return 400, {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
    if shape == "llamacpp":
        message = f"request ({tokens} tokens) exceeds the available context size ({window} tokens), try increasing it"
        error = {"code": 400, "message": message, "type": "exceed_context_size_error"}
        return 400, {"error": error | {"n_prompt_tokens": tokens, "n_ctx": window}}
    message = (
        f"This model's maximum context length is {window} tokens. However, your messages resulted in {tokens} "
        "tokens. Please reduce the length of the messages."
    )
    error = {
        "message": message,
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    }
    return 400, {"error": error}


def _anthropic_error_type(status: int) -> str:
    return {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        429: "rate_limit_error",
        529: "overloaded_error",
    }.get(status, "api_error")


# ------------------------------------------------------------------------------------------
# response bodies
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderContext:
    """Per-request values the renderers need."""

    model: str
    call_ids: tuple[str, ...]
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cache_write_tokens: int
    response_id: str


def openai_json(r: Reply, ctx: RenderContext) -> dict[str, Any]:
    """A non-streamed chat.completion body."""
    message: dict[str, Any] = {"role": "assistant", "content": r.text, "refusal": None}
    if r.tool_calls:
        message["tool_calls"] = [
            {"id": cid, "type": "function", "function": {"name": c.name, "arguments": c.arguments_json()}}
            for cid, c in zip(ctx.call_ids, r.tool_calls, strict=True)
        ]
    return {
        "id": ctx.response_id,
        "object": "chat.completion",
        "created": 1700000000,
        "model": ctx.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": r.finish("openai"),
            }
        ],
        "usage": _openai_usage(ctx),
    }


def _openai_usage(ctx: RenderContext) -> dict[str, Any]:
    return {
        "prompt_tokens": ctx.input_tokens,
        "completion_tokens": ctx.output_tokens,
        "total_tokens": ctx.input_tokens + ctx.output_tokens,
        "prompt_tokens_details": {"cached_tokens": ctx.cached_tokens},
    }


def _pieces(text: str, size: int = 4) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def openai_chunks(r: Reply, ctx: RenderContext, *, include_usage: bool) -> Iterator[dict[str, Any]]:
    """chat.completion.chunk objects: text deltas, tool-call deltas (split arguments), finish, usage."""

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": ctx.response_id,
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": ctx.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    yield chunk({"role": "assistant", "content": ""})
    for piece in _pieces(r.text) if r.text else []:
        yield chunk({"content": piece})
    for index, (cid, call) in enumerate(zip(ctx.call_ids, r.tool_calls, strict=True)):
        yield chunk(
            {
                "tool_calls": [
                    {"index": index, "id": cid, "type": "function", "function": {"name": call.name, "arguments": ""}}
                ]
            }
        )
        for piece in _pieces(call.arguments_json(), 7):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    yield chunk({}, r.finish("openai"))
    if include_usage:
        yield {
            "id": ctx.response_id,
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": ctx.model,
            "choices": [],
            "usage": _openai_usage(ctx),
        }


def _tool_input(call: FakeToolCall) -> object:
    if isinstance(call.arguments, dict):
        return call.arguments
    try:
        return json.loads(call.arguments)
    except json.JSONDecodeError:
        return {"raw": call.arguments}


def _anthropic_usage(ctx: RenderContext, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": ctx.input_tokens,
        "output_tokens": output_tokens,
        "cache_read_input_tokens": ctx.cached_tokens,
        "cache_creation_input_tokens": ctx.cache_write_tokens,
    }


def anthropic_json(r: Reply, ctx: RenderContext) -> dict[str, Any]:
    """A non-streamed message body."""
    content: list[dict[str, Any]] = []
    if r.thinking:
        content.append({"type": "thinking", "thinking": r.thinking, "signature": thinking_signature(r.thinking)})
    content += [{"type": "text", "text": r.text}] if r.text else []
    content += [
        {"type": "tool_use", "id": cid, "name": c.name, "input": _tool_input(c)}
        for cid, c in zip(ctx.call_ids, r.tool_calls, strict=True)
    ]
    return {
        "id": ctx.response_id,
        "type": "message",
        "role": "assistant",
        "model": ctx.model,
        "content": content,
        "stop_reason": r.finish("anthropic"),
        "stop_sequence": None,
        "usage": _anthropic_usage(ctx, ctx.output_tokens),
    }


def thinking_signature(thinking: str) -> str:
    """The signature the fake gives a thinking block (the real API rejects altered thinking)."""
    return "sig-" + hashlib.sha256(thinking.encode()).hexdigest()[:16]


def _thinking_events(thinking: str) -> Iterator[tuple[str, dict[str, Any]]]:
    block = {"type": "thinking", "thinking": "", "signature": ""}
    yield "content_block_start", {"type": "content_block_start", "index": 0, "content_block": block}
    for piece in _pieces(thinking):
        delta = {"type": "thinking_delta", "thinking": piece}
        yield "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}
    delta = {"type": "signature_delta", "signature": thinking_signature(thinking)}
    yield "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}
    yield "content_block_stop", {"type": "content_block_stop", "index": 0}


def anthropic_events(r: Reply, ctx: RenderContext) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event name, data) pairs of a streamed message."""
    start = anthropic_json(Reply(), replace(ctx, call_ids=())) | {"content": [], "stop_reason": None}
    start["usage"] = _anthropic_usage(ctx, 1)
    yield "message_start", {"type": "message_start", "message": start}
    index = 0
    if r.thinking:
        yield from _thinking_events(r.thinking)
        index = 1
    if r.text:
        yield (
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}},
        )
        for piece in _pieces(r.text):
            yield (
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}},
            )
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
        index += 1
    for offset, (cid, call) in enumerate(zip(ctx.call_ids, r.tool_calls, strict=True)):
        i = index + offset
        yield (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": i,
                "content_block": {"type": "tool_use", "id": cid, "name": call.name, "input": {}},
            },
        )
        for piece in _pieces(json.dumps(_tool_input(call)), 7):
            yield (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": i,
                    "delta": {"type": "input_json_delta", "partial_json": piece},
                },
            )
        yield "content_block_stop", {"type": "content_block_stop", "index": i}
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": r.finish("anthropic"), "stop_sequence": None},
            "usage": {"output_tokens": ctx.output_tokens},
        },
    )
    yield "message_stop", {"type": "message_stop"}
