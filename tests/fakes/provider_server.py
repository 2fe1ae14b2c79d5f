"""A fake LLM provider on 127.0.0.1 that kwaak talks to as if it were the real thing (the official SDKs can too).

It speaks OpenAI chat completions (``/v1/chat/completions``, Azure
``/openai/deployments/{d}/chat/completions?api-version=``, OpenRouter ``/api/v1/chat/completions``;
any path ending in ``/chat/completions``), ``/embeddings``, and Anthropic ``/v1/messages``; JSON and
SSE streaming. Replies come from a script queue (:class:`Reply`, :class:`EmbeddingReply`,
:class:`Fault`); when the queue is empty it answers "Kwek", or calls ``stop`` if that tool is offered.
Every request is recorded, and requests the real APIs would reject (unanswered tool calls, lax
strict schemas, ...) get HTTP 400 with an explanation.

Use it as a context manager::

    with FakeProviderServer() as srv:
        srv.enqueue(tool_call("read_file", file_name="a.py"), reply("done"))
        client = AsyncOpenAI(base_url=srv.url + "/v1", api_key="k")

or from a terminal: ``python -m tests.fakes.provider_server --port 8765 --script replies.jsonl``.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from tests.fakes.provider_formats import (
    EmbeddingReply,
    FakeToolCall,
    Fault,
    OverflowShape,
    RenderContext,
    Reply,
    ScriptItem,
    WindowApi,
    anthropic_events,
    anthropic_json,
    default_reply,
    error_body,
    estimate_tokens,
    fake_vector,
    item_from_json,
    openai_chunks,
    openai_json,
    overflow_error,
    reply,
    tool_call,
)
from tests.fakes.provider_validation import validate_anthropic, validate_openai

__all__ = [
    "EmbeddingReply",
    "FakeProviderServer",
    "FakeToolCall",
    "Fault",
    "RecordedRequest",
    "Reply",
    "reply",
    "tool_call",
]


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it (header names lowercased)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    api: str
    """``openai``, ``anthropic``, ``embeddings`` or ``unknown``."""
    received_at: float = field(default_factory=time.monotonic)
    """``time.monotonic()`` when the request arrived (process-level benchmarks)."""


def _api_of(path: str) -> str:
    if path.endswith("/chat/completions"):
        return "openai"
    if path.endswith("/messages"):
        return "anthropic"
    if path.endswith("/embeddings"):
        return "embeddings"
    return "unknown"


class FakeProviderServer:
    """A scripted OpenAI/Azure/OpenRouter/Anthropic-compatible server in a background thread."""

    def __init__(
        self,
        *,
        port: int = 0,
        embedding_dimensions: int = 8,
        validate: bool = True,
        embedding_latency: float = 0.0,
        context_window: int | None = None,
        overflow: OverflowShape = "auto",
        reports_window: WindowApi | None = None,
        stream_usage: bool = True,
        toolless_reply: Reply | None = None,
        token_scale: float = 1.0,
        tool_probe: Literal["call", "text", "refuse"] = "call",
        tool_probe_delay: float = 0.0,
    ) -> None:
        """Args (beyond the port):

        embedding_latency: seconds each embeddings request takes (a remote provider's latency).

        context_window: prompts larger than this (``estimate_tokens`` of the body) are refused the
            way ``overflow`` says: ``openai`` (400 ``context_length_exceeded``), ``anthropic``
            (400 ``prompt is too long``), ``llamacpp`` (400 ``exceed_context_size_error``), ``cut``
            (the stream ends without a reply, as llama-cpp-python does); ``auto`` picks by API.
        reports_window: which endpoint reports ``context_window``: llama.cpp ``/props``, Ollama
            ``/api/show`` or vLLM ``/v1/models``.
        stream_usage: ``False`` ignores ``stream_options`` (no usage in streams, like llama-cpp-python).
        toolless_reply: answers every chat request that offers no tools (summaries, titles) without
            taking from the script, so scripts of agent turns do not depend on when kwaak summarizes.
        token_scale: multiplies the server's token counts (its tokenizer counts more than kwaak's).
        tool_probe: how kwaak's tool-calling check (a request whose only tool is ``ping``) is answered,
            without taking from the script: ``call`` the tool, answer with ``text``, or ``refuse``
            tools with HTTP 400 like llama.cpp without ``--jinja``.
        tool_probe_delay: seconds before a ``call`` answer to that check.
        """
        self.embedding_dimensions = embedding_dimensions
        self.embedding_latency = embedding_latency
        """Seconds each embeddings request takes (a remote provider's latency, for benchmarks)."""
        self.validate = validate
        self.context_window = context_window
        self.overflow: OverflowShape = overflow
        self.reports_window = reports_window
        self.stream_usage = stream_usage
        self.toolless_reply = toolless_reply
        self.token_scale = token_scale
        self.tool_probe = tool_probe
        self.tool_probe_delay = tool_probe_delay
        self.tool_probe_times: list[float] = []
        """``time.monotonic()`` when each tool-calling check arrived."""
        self.probes: list[str] = []
        """Paths of context-window probes (``/props``, ``/api/show``, ``/v1/models``) in order."""
        self.tool_probes: list[dict[str, Any]] = []
        """Bodies of kwaak's tool-calling checks (not in :attr:`requests`)."""
        self.requests: list[RecordedRequest] = []
        self._queue: collections.deque[ScriptItem] = collections.deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._ids = itertools.count(1)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound TCP port."""
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (append ``/v1`` for OpenAI-style base URLs)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeProviderServer:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-provider", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release hanging handlers."""
        self._closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeProviderServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- script -----------------------------------------------------------------------------

    def enqueue(self, *items: ScriptItem) -> None:
        """Append replies/faults to the script (consumed in order)."""
        with self._lock:
            self._queue.extend(items)

    def load_script(self, path: Path) -> None:
        """Enqueue the entries of a JSON list / JSON-lines file (see ``item_from_json``)."""
        raw = path.read_text(encoding="utf-8").strip()
        entries: Iterable[Any] = (
            json.loads(raw) if raw.startswith("[") else (json.loads(line) for line in raw.splitlines() if line.strip())
        )
        self.enqueue(*(item_from_json(e) for e in entries))

    @property
    def pending(self) -> int:
        """Script items not yet consumed."""
        with self._lock:
            return len(self._queue)

    def requests_to(self, api: str) -> list[RecordedRequest]:
        """Recorded requests of one API kind (``openai``, ``anthropic``, ``embeddings``)."""
        return [r for r in self.requests if r.api == api]

    def _next(self, api: str) -> ScriptItem | None:
        with self._lock:
            if not self._queue:
                return None
            head = self._queue[0]
            fits = isinstance(head, Fault) or isinstance(head, EmbeddingReply) == (api == "embeddings")
            return self._queue.popleft() if fits else None

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):04d}"


def _handler_for(server: FakeProviderServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        fake = server

    return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # as real API servers: no 40 ms delayed-ACK stall between small writes
    fake: FakeProviderServer

    def handle(self) -> None:
        """Serve the connection; a client hanging up (or our injected reset) is not an error."""
        try:
            super().handle()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging."""

    def do_GET(self) -> None:
        """Model listings, llama.cpp ``/props`` and health checks."""
        path = urlsplit(self.path).path
        self.fake.probes.append(path)
        window = self.fake.context_window
        if path.endswith("/props"):
            if self.fake.reports_window == "llamacpp" and window:
                self._send_json(200, {"default_generation_settings": {"n_ctx": window}, "total_slots": 1})
            else:
                self._send_json(404, {"error": {"message": "File Not Found", "type": "not_found_error"}})
            return
        entry: dict[str, Any] = {"id": "fake-model", "object": "model"}
        if self.fake.reports_window == "vllm" and window and path.endswith("/v1/models"):
            entry["max_model_len"] = window
        self._send_json(200, {"object": "list", "data": [entry]})

    def do_POST(self) -> None:
        """Record, validate, then answer from the script."""
        parts = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            body = raw.decode(errors="replace")
        api = _api_of(parts.path)
        if parts.path.endswith("/api/show"):
            self.fake.probes.append(parts.path)
            self._ollama_show()
            return
        probe = self._probe_answer(body) if isinstance(body, dict) else None
        if probe is not None:  # kwaak's tool-calling check: recorded apart, so scripts and counts are unaffected
            self.fake.tool_probes.append(body)
            self.fake.tool_probe_times.append(time.monotonic())
            if isinstance(probe, Fault):
                self._fault(api, probe, body)
            else:
                self._chat(api, body, probe)
            return
        self.fake.requests.append(
            RecordedRequest(
                method="POST",
                path=parts.path,
                query={k: v[0] for k, v in parse_qs(parts.query).items()},
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                api=api,
            )
        )
        if api == "unknown" or not isinstance(body, dict):
            self._send_json(404, {"error": {"message": f"no route for {parts.path}", "type": "not_found"}})
            return
        if self._overflowed(api, body):
            return
        toolless = self.fake.toolless_reply if api != "embeddings" and not body.get("tools") else None
        item = toolless or self.fake._next(api)
        if isinstance(item, Fault):
            self._fault(api, item, body)
            return
        problem = self._validation_problem(api, body)
        if problem:
            self._send_json(400, error_body(api, Fault(status=400, message=problem)))
        elif api == "embeddings":
            self._embeddings(body, item if isinstance(item, EmbeddingReply) else None)
        else:
            self._chat(api, body, item if isinstance(item, Reply) else default_reply(body))

    def _validation_problem(self, api: str, body: dict[str, Any]) -> str | None:
        if not self.fake.validate:
            return None
        if api == "openai":
            return validate_openai(body)
        if api == "anthropic":
            return validate_anthropic(body)
        return None

    def _probe_answer(self, body: dict[str, Any]) -> Reply | Fault | None:
        names = [t.get("name") or (t.get("function") or {}).get("name") for t in body.get("tools") or []]
        if names != ["ping"]:
            return None
        if self.fake.tool_probe == "refuse":
            return Fault.http(400, "tools param requires --jinja flag")
        if self.fake.tool_probe == "text":
            return reply("pong")
        answer = tool_call("ping", reply="pong")
        return Reply(text=answer.text, tool_calls=answer.tool_calls, delay=self.fake.tool_probe_delay)

    def _ollama_show(self) -> None:
        window = self.fake.context_window
        if self.fake.reports_window != "ollama" or not window:
            self._send_json(404, {"error": "model not found"})
            return
        info = {"general.architecture": "qwen2", "qwen2.context_length": 32768}
        self._send_json(200, {"parameters": f"num_ctx {window}\nstop <|im_end|>", "model_info": info})

    def _overflowed(self, api: str, body: dict[str, Any]) -> bool:
        """Refuse a prompt over ``context_window`` in the configured shape; True when refused."""
        window = self.fake.context_window
        if api not in ("openai", "anthropic") or not window:
            return False
        tokens = int(estimate_tokens(body.get("messages")) * self.fake.token_scale)
        if tokens <= window:
            return False
        shape = self.fake.overflow if self.fake.overflow != "auto" else api
        if shape == "cut" and body.get("stream"):
            self._stream(iter([]))  # ends cleanly with no reply, as llama-cpp-python does
        else:
            status, payload = overflow_error(shape, tokens, window)
            self._send_json(status, payload)
        return True

    # -- answers ------------------------------------------------------------------------------

    def _chat(self, api: str, body: dict[str, Any], item: Reply) -> None:
        if item.delay:
            time.sleep(item.delay)
        prefix = "toolu_" if api == "anthropic" else "call_"
        ctx = RenderContext(
            model=str(body.get("model", "fake-model")),
            call_ids=tuple(c.id or self.fake._new_id(prefix) for c in item.tool_calls),
            input_tokens=item.input_tokens
            if item.input_tokens is not None
            else int(estimate_tokens(body) * self.fake.token_scale),
            output_tokens=item.output_tokens
            if item.output_tokens is not None
            else max(1, len(json.dumps([item.text, [c.arguments_json() for c in item.tool_calls]])) // 4),
            cached_tokens=item.cached_tokens,
            cache_write_tokens=item.cache_write_tokens,
            response_id=self.fake._new_id("msg_" if api == "anthropic" else "chatcmpl-"),
        )
        if not body.get("stream"):
            self._send_json(200, anthropic_json(item, ctx) if api == "anthropic" else openai_json(item, ctx))
        elif api == "anthropic":
            self._stream((f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in anthropic_events(item, ctx)))
        else:
            include_usage = self.fake.stream_usage and bool((body.get("stream_options") or {}).get("include_usage"))
            events = (f"data: {json.dumps(c)}\n\n" for c in openai_chunks(item, ctx, include_usage=include_usage))
            self._stream(itertools.chain(events, ["data: [DONE]\n\n"]))

    def _embeddings(self, body: dict[str, Any], item: EmbeddingReply | None) -> None:
        if self.fake.embedding_latency:
            time.sleep(self.fake.embedding_latency)
        inputs = body.get("input")
        texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
        dims = int(body.get("dimensions") or self.fake.embedding_dimensions)
        vectors = [list(v) for v in item.vectors] if item else [fake_vector(str(t), dims) for t in texts]
        tokens = sum(estimate_tokens(t) for t in texts)
        self._send_json(
            200,
            {
                "object": "list",
                "model": body.get("model", "fake-embedding"),
                "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    def _fault(self, api: str, fault: Fault, body: dict[str, Any]) -> None:
        if fault.kind == "status" or (fault.kind == "stream_error" and not body.get("stream")):
            headers = {"retry-after": fault.retry_after} if fault.retry_after is not None else {}
            self._send_json(fault.status, error_body(api, fault), headers)
        elif fault.kind == "reset":
            self._reset()
        elif fault.kind == "hang":
            self.fake._closing.wait(fault.hang_seconds)
            self._reset()
        elif fault.kind == "garbage":
            self._send_raw(200, b'{"id": "chatcmpl-garbage", "choices": [ {{{ not json', "application/json")
        elif fault.kind == "bad_utf8":
            self._bad_utf8(api, body)
        else:
            self._truncated(api, body, fault)

    def _bad_utf8(self, api: str, body: dict[str, Any]) -> None:
        ctx = RenderContext(
            model=str(body.get("model", "m")),
            call_ids=(),
            input_tokens=10,
            output_tokens=10,
            cached_tokens=0,
            cache_write_tokens=0,
            response_id=self.fake._new_id("utf8-"),
        )
        marker = "\u00a4"  # one character (never split across stream chunks), escaped by json.dumps
        reply = Reply(text=f"Here is {marker} in the reply")
        if body.get("stream"):
            if api == "anthropic":
                events = [f"event: {n}\ndata: {json.dumps(d)}\n\n" for n, d in anthropic_events(reply, ctx)]
            else:
                events = [f"data: {json.dumps(c)}\n\n" for c in openai_chunks(reply, ctx, include_usage=True)]
                events.append("data: [DONE]\n\n")
            raw = "".join(events).encode().replace(b"\\u00a4", b"\xff\xfe\xc3(")
            self._send_raw(200, raw, "text/event-stream")
            return
        chunks = list(openai_chunks(reply, ctx, include_usage=True))
        data = {
            "id": "chatcmpl-utf8",
            "object": "chat.completion",
            "model": ctx.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.text}, "finish_reason": "stop"}],
            "usage": chunks[-1].get("usage"),
        }
        self._send_raw(200, json.dumps(data).encode().replace(b"\\u00a4", b"\xff\xfe\xc3("), "application/json")

    def _truncated(self, api: str, body: dict[str, Any], fault: Fault) -> None:
        text = Reply(text="This reply is cut off in the middle of a sentence and never")
        ctx = RenderContext(
            model=str(body.get("model", "m")),
            call_ids=(),
            input_tokens=10,
            output_tokens=10,
            cached_tokens=0,
            cache_write_tokens=0,
            response_id=self.fake._new_id("cut-"),
        )
        if api == "anthropic":
            events = [f"event: {n}\ndata: {json.dumps(d)}\n\n" for n, d in anthropic_events(text, ctx)][:4]
        else:
            events = [f"data: {json.dumps(c)}\n\n" for c in openai_chunks(text, ctx, include_usage=False)][:4]
        if fault.kind == "stream_error":
            error = json.dumps(error_body(api, fault))
            events.append(f"event: error\ndata: {error}\n\n" if api == "anthropic" else f"data: {error}\n\n")
            self._stream(iter(events))
        else:
            self._stream(iter(events), complete=False)

    # -- transport ----------------------------------------------------------------------------

    def _send_json(self, status: int, payload: object, headers: dict[str, str] | None = None) -> None:
        self._send_raw(status, json.dumps(payload).encode(), "application/json", headers)

    def _send_raw(self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, events: Iterator[str], *, complete: bool = True) -> None:
        """Send SSE events with chunked encoding; ``complete=False`` cuts the body off mid-stream."""
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for event in events:
            data = event.encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        if complete:
            self.wfile.write(b"0\r\n\r\n")
        else:
            self._reset()

    def _reset(self) -> None:
        """Abort the connection with a TCP RST."""
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


def main(argv: list[str] | None = None) -> int:
    """Run the fake server in the foreground (for end-to-end tests in a real terminal)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--script", type=Path, help="JSON list or JSON lines of replies/faults")
    parser.add_argument("--embedding-dimensions", type=int, default=8)
    parser.add_argument("--no-validate", action="store_true", help="accept requests the real APIs would reject")
    args = parser.parse_args(argv)
    server = FakeProviderServer(
        port=args.port, embedding_dimensions=args.embedding_dimensions, validate=not args.no_validate
    )
    if args.script:
        server.load_script(args.script)
    print(f"fake provider listening on {server.url}", flush=True)
    try:
        server._httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
