"""kwaak's provider HTTP client against real sockets: framing, keep-alive, timeouts, hostile servers."""

from __future__ import annotations

import asyncio
import gzip
import time
import tracemalloc

import pytest

from kwaak.config.model import BackoffConfig
from kwaak.errors import BadRequest, Transient
from kwaak.llm import make_model
from kwaak.llm.errors import map_provider_error
from kwaak.llm.http import ConnectTimeout, HTTPClient, ProtocolError, ReadTimeout
from kwaak.messages import UserMessage
from tests.fakes.provider_server import FakeProviderServer, reply
from tests.llm.helpers import openai_cfg
from tests.llm.raw_servers import RawServer, collect, keep_alive, read_request, response


def _transient(exc: BaseException, provider: str = "http://127.0.0.1:1/v1") -> str:
    mapped = map_provider_error(exc, provider=provider)
    assert isinstance(mapped, Transient), mapped
    return mapped.message


# -- framing ---------------------------------------------------------------------------------------


async def test_content_length_bodies_reuse_one_connection() -> None:
    async with RawServer(keep_alive(b'{"ok": 1}')) as srv:
        client = HTTPClient()
        for _ in range(3):
            got = await client.request("GET", srv.url + "/x")
            assert (got.status_code, got.json()) == (200, {"ok": 1})
        await client.aclose()
    assert srv.connections == 1


async def test_chunked_body_with_extensions_and_trailers_then_reuse() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        while True:
            await read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            writer.write(b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
            await writer.drain()

    async with RawServer(handler) as srv:
        client = HTTPClient()
        assert (await client.request("GET", srv.url)).content == b"hello world"
        async with client.stream("GET", srv.url) as streamed:
            assert await collect(streamed.aiter_bytes()) == b"hello world"
        await client.aclose()
    assert srv.connections == 1


async def test_read_to_close_body_is_never_reused() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")
        await writer.drain()

    async with RawServer(handler) as srv:
        client = HTTPClient()
        for _ in range(2):
            assert (await client.request("GET", srv.url)).content == b"until the end"
    assert srv.connections == 2


async def test_connection_close_and_gzip_are_honoured() -> None:
    packed = gzip.compress(b'{"zipped": true}')

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        await read_request(reader)
        writer.write(response(packed, extra="Content-Encoding: gzip\r\nConnection: close\r\n"))
        await writer.drain()
        await reader.read()  # the client must hang up, not wait for us

    async with RawServer(handler) as srv:
        client = HTTPClient()
        for _ in range(2):
            assert (await client.request("GET", srv.url)).json() == {"zipped": True}
    assert srv.connections == 2


# -- keep-alive pool -------------------------------------------------------------------------------


async def test_an_idle_connection_the_server_dropped_is_retried_once_on_a_fresh_one() -> None:
    lines: list[str] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        line, _, _ = await read_request(reader)
        lines.append(line)
        writer.write(response(b"first"))
        await writer.drain()
        line, _, _ = await read_request(reader)  # the next request on this connection: hang up unanswered
        lines.append(line)

    async with RawServer(handler) as srv:
        client = HTTPClient()
        assert (await client.request("POST", srv.url + "/a", body=b"1")).content == b"first"
        assert (await client.request("POST", srv.url + "/b", body=b"2")).content == b"first"
        await client.aclose()
    assert lines == ["POST /a HTTP/1.1", "POST /b HTTP/1.1", "POST /b HTTP/1.1"]
    assert srv.connections == 2


async def test_a_fresh_connection_closed_without_an_answer_is_not_retried() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        await read_request(reader)

    async with RawServer(handler) as srv:
        client = HTTPClient()
        with pytest.raises(ProtocolError) as info:
            await client.request("POST", srv.url, body=b"x")
    assert srv.connections == 1
    assert "closed the connection" in _transient(info.value)


async def test_32_concurrent_requests_on_one_model_share_a_pool(fast_backoff: BackoffConfig) -> None:
    with FakeProviderServer() as srv:
        srv.enqueue(*[reply(f"answer {i}") for i in range(64)])
        model = make_model(openai_cfg(srv, prompt_model="gpt-4o"), backoff=fast_backoff)
        first = await asyncio.gather(*[model.complete([UserMessage(content=f"q{i}")]) for i in range(32)])
        second = await asyncio.gather(
            *[model.complete([UserMessage(content=f"q{i}")], on_text_delta=lambda _: None) for i in range(32)]
        )
        await model.aclose()
    texts = sorted(r.message.content or "" for r in [*first, *second])
    assert texts == sorted(f"answer {i}" for i in range(64))


async def test_a_cancelled_request_closes_its_connection_and_returns_nothing_to_the_pool() -> None:
    started, hung_up = asyncio.Event(), asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
        await writer.drain()
        started.set()
        if await reader.read() == b"":
            hung_up.set()

    async with RawServer(handler) as srv:
        client = HTTPClient()

        async def consume() -> None:
            async with client.stream("GET", srv.url) as streamed:
                async for _ in streamed.aiter_bytes():
                    pass

        task = asyncio.create_task(consume())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert all(not idle for idle in client._idle.values())
        await asyncio.wait_for(hung_up.wait(), 10)


# -- timeouts and hostile servers ------------------------------------------------------------------


async def test_a_server_that_never_answers_times_out() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        await read_request(reader)
        await asyncio.sleep(30)

    async with RawServer(handler) as srv:
        started = time.monotonic()
        with pytest.raises(ReadTimeout) as info:
            await HTTPClient().request("GET", srv.url, timeout=0.3)
    assert time.monotonic() - started < 5
    assert "did not answer in time" in _transient(info.value)


async def test_a_stalled_stream_times_out_per_read() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(3):
            writer.write(b"1\r\na\r\n")
            await writer.drain()
            await asyncio.sleep(0.1)  # each piece well inside the timeout
        await asyncio.sleep(30)

    pieces: list[bytes] = []
    async with RawServer(handler) as srv, HTTPClient().stream("GET", srv.url, timeout=0.5) as streamed:
        with pytest.raises(ReadTimeout):
            async for piece in streamed.aiter_bytes():
                pieces.append(piece)
    assert b"".join(pieces) == b"aaa"


async def test_slowloris_headers_are_cut_by_the_head_deadline() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(200):
            writer.write(b"X-Slow: 1\r\n")  # a header every 50 ms: each read is quick, the head never ends
            await writer.drain()
            await asyncio.sleep(0.05)

    async with RawServer(handler) as srv:
        started = time.monotonic()
        with pytest.raises(ReadTimeout, match="no complete response head"):
            await HTTPClient().request("GET", srv.url, timeout=0.5)
    assert time.monotonic() - started < 5


async def test_an_endless_header_block_is_refused_at_64_kib() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\n")
        for i in range(100_000):
            writer.write(f"X-Endless-{i}: {'a' * 100}\r\n".encode())
            await writer.drain()

    async with RawServer(handler) as srv:
        with pytest.raises(ProtocolError) as info:
            await HTTPClient().request("GET", srv.url)
    assert "65536 bytes" in _transient(info.value)


async def test_one_endless_header_line_is_refused() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nX-Long: ")
        for _ in range(1000):
            writer.write(b"a" * 1024)
            await writer.drain()

    async with RawServer(handler) as srv:
        with pytest.raises(ProtocolError, match="cut or too long"):
            await HTTPClient().request("GET", srv.url)


async def test_a_100_mb_body_is_refused_with_bounded_memory() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n")
        block = b"x" * 1_000_000
        for _ in range(100):
            writer.write(block)
            await writer.drain()

    async with RawServer(handler) as srv:
        tracemalloc.start()
        try:
            with pytest.raises(ProtocolError) as info:
                await HTTPClient().request("GET", srv.url)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert "larger than 64 MiB" in _transient(info.value)
    assert peak < 100_000_000


@pytest.mark.parametrize("size_line", [b"zz", b"-1", b"1" * 40, b"", b"0x10", b"7fffffffffffffffff"])
async def test_garbage_chunk_sizes_are_a_clear_transient(size_line: bytes) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + size_line + b"\r\ndata\r\n0\r\n\r\n")
        await writer.drain()

    async with RawServer(handler) as srv:
        with pytest.raises(ProtocolError) as info:
            await HTTPClient().request("GET", srv.url)
    assert "bad chunk size" in _transient(info.value)


@pytest.mark.parametrize(
    ("head", "match"),
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "did not answer with HTTP"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n", "bad Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "middle of the response body"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "malformed header"),
    ],
)
async def test_broken_responses_are_protocol_errors(head: bytes, match: str) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        await read_request(reader)
        writer.write(head)
        await writer.drain()

    async with RawServer(handler) as srv:
        with pytest.raises(ProtocolError, match=match):
            await HTTPClient().request("GET", srv.url)


async def test_a_giant_sse_line_fails_the_model_request_as_transient(no_retry: BackoffConfig) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: ")
        block = b"a" * 1_000_000
        for _ in range(20):
            writer.write(block)
            await writer.drain()

    async with RawServer(handler) as srv:

        class Url:
            url = srv.url

        model = make_model(openai_cfg(Url(), context_window=8192), backoff=no_retry)  # type: ignore[arg-type]
        with pytest.raises(Transient, match="event-stream line longer than 8 MiB"):
            await model.complete([UserMessage(content="hi")], on_text_delta=lambda _: None)


async def test_an_http_1_0_response_without_keep_alive_is_not_reused() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        while True:
            await read_request(reader)
            writer.write(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")  # and keeps the socket open
            await writer.drain()

    async with RawServer(handler) as srv:
        client = HTTPClient()
        for _ in range(2):
            assert (await client.request("GET", srv.url)).content == b"ok"
    assert srv.connections == 2


@pytest.mark.parametrize(
    "headers", [{"X-Key": "k\r\nX-Injected: 1"}, {"Authorization": "Bearer ключ"}, {"Bad:Name": "v"}]
)
async def test_headers_that_http_cannot_carry_are_refused_before_sending(headers: dict[str, str]) -> None:
    async with RawServer(keep_alive(b"{}")) as srv:
        with pytest.raises(BadRequest):
            await HTTPClient().request("GET", srv.url, headers=headers)
    assert srv.connections == 0


def test_a_model_used_by_two_event_loops_opens_a_connection_per_loop() -> None:
    """``asyncio.run`` twice with one model: the first loop's idle connection is never reused."""
    with FakeProviderServer() as srv:
        srv.enqueue(reply("one"), reply("two"))
        model = make_model(openai_cfg(srv, context_window=8192), backoff=BackoffConfig())
        assert asyncio.run(model.prompt("a")) == "one"
        assert asyncio.run(model.prompt("b")) == "two"


async def test_a_closed_model_still_works_and_pools_again(fast_backoff: BackoffConfig) -> None:
    """``aclose`` drops idle connections; a shared model used afterwards keeps reusing connections."""
    async with RawServer(keep_alive(b'{"choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}]}')) as srv:

        class Url:
            url = srv.url

        model = make_model(openai_cfg(Url(), context_window=8192), backoff=fast_backoff)  # type: ignore[arg-type]
        assert await model.prompt("a") == "ok"
        await model.aclose()
        for _ in range(3):
            assert await model.prompt("b") == "ok"
    assert srv.connections == 2


async def test_a_stalled_tls_handshake_is_a_connect_timeout() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        await asyncio.sleep(30)  # accepts TCP, never answers the TLS ClientHello

    async with RawServer(handler) as srv:
        started = time.monotonic()
        with pytest.raises(ConnectTimeout) as info:
            await HTTPClient().request("GET", srv.url.replace("http://", "https://"), timeout=0.5)
    assert time.monotonic() - started < 5
    assert "did not answer in time" in _transient(info.value)


async def test_the_context_window_probe_and_the_first_request_share_one_connection(
    fast_backoff: BackoffConfig,
) -> None:
    seen: list[str] = []
    choices = b'"choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}]'
    body = b'{"default_generation_settings": {"n_ctx": 8192}, ' + choices + b"}"  # /props and a chat reply at once
    async with RawServer(keep_alive(body, requests=seen)) as srv:

        class Url:
            url = srv.url

        model = make_model(openai_cfg(Url(), prompt_model="local"), backoff=fast_backoff)  # type: ignore[arg-type]
        assert await model.prompt("hi") == "ok"
        assert await model.context_window() == 8192
    assert seen == ["GET /props HTTP/1.1", "POST /v1/chat/completions HTTP/1.1"]
    assert srv.connections == 1


async def test_a_redirect_is_not_followed_and_names_the_target(no_retry: BackoffConfig) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        await read_request(reader)
        writer.write(response(b"", status="301 Moved Permanently", extra="Location: https://elsewhere.test/v1\r\n"))
        await writer.drain()

    async with RawServer(handler) as srv:

        class Url:
            url = srv.url

        model = make_model(openai_cfg(Url(), context_window=8192), backoff=no_retry)  # type: ignore[arg-type]
        with pytest.raises(BadRequest) as info:
            await model.complete([UserMessage(content="hi")], on_text_delta=lambda _: None)
    assert info.value.message.endswith("answered with a redirect (HTTP 301) to https://elsewhere.test/v1")
    assert info.value.hint is not None and "base_url" in info.value.hint
    assert srv.connections == 1  # not retried, not followed
