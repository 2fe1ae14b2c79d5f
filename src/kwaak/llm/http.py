"""A small async HTTP/1.1 client on asyncio streams: how kwaak speaks to model providers.

No SDK and no httpx on the model path (importing them cost a quarter of a second at start-up).
:class:`HTTPClient` sends a request and gives a :class:`Response` whose body is read in full
(``request``) or streamed (``stream``; SSE in :mod:`kwaak.llm.sse`). Connections are kept alive in
a pool per origin (and proxy): one is reused only after its response was read to the end without
``Connection: close``; a request on a reused connection that fails before any response byte (the
server closed the idle socket) is sent once more on a new one. Any other failure, and any
cancellation, closes the connection instead of returning it.

Proxies and the TLS trust store come from the environment (:mod:`kwaak.llm.http_env`). Everything
a server sends is bounded: the header block (64 KiB), a non-streamed body (64 MiB), chunk-size
lines, SSE lines and events; violations raise :class:`ProtocolError`. Timeouts: connecting
(at most 30 s), the response head and a non-streamed body each within ``timeout``, and every read
of a streamed body within ``timeout`` of the previous one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Mapping
from typing import Any, TypeVar

from kwaak.errors import BadRequest
from kwaak.llm.http_env import Origin, Proxy, proxy_for, split_url, ssl_context, tunnel
from kwaak.llm.http_errors import (
    BadResponse,
    ConnectError,
    ConnectTimeout,
    HTTPError,
    HTTPStatusError,
    HTTPTimeout,
    ProtocolError,
    ReadTimeout,
    StreamErrorEvent,
)

__all__ = [
    "BadResponse",
    "ConnectError",
    "ConnectTimeout",
    "HTTPClient",
    "HTTPError",
    "HTTPStatusError",
    "HTTPTimeout",
    "ProtocolError",
    "ReadTimeout",
    "Response",
    "StreamErrorEvent",
]

T = TypeVar("T")

MAX_HEADER_BYTES = 64 * 1024
"""Largest response head (status line and headers)."""
MAX_BODY_BYTES = 64 * 1024 * 1024
"""Largest non-streamed response body (after decompression)."""
MAX_ERROR_BODY_BYTES = 1024 * 1024
"""An error response's body is read up to this size (the rest is dropped with the connection)."""
CONNECT_TIMEOUT = 30.0
IDLE_SECONDS = 30.0
"""An idle connection older than this is closed instead of reused (servers drop them anyway)."""
MAX_IDLE_PER_ORIGIN = 64
_READ_SIZE = 64 * 1024
_MAX_HEADERS = 256


async def _guard(awaitable: Awaitable[T], timeout: float, what: str) -> T:
    """Await one read; translate timeouts, early closes and socket errors into :class:`HTTPError`."""
    try:
        async with asyncio.timeout(timeout):
            return await awaitable
    except TimeoutError as exc:  # before OSError: TimeoutError is one
        raise ReadTimeout(f"the server sent nothing for {timeout:g} s ({what})") from exc
    except asyncio.IncompleteReadError as exc:
        raise ProtocolError(f"the server closed the connection in the middle of the {what}") from exc
    except asyncio.LimitOverrunError as exc:
        raise ProtocolError(f"the server sent a {what} line longer than {MAX_HEADER_BYTES} bytes") from exc
    except OSError as exc:
        raise ProtocolError(f"the connection broke while reading the {what}: {exc}") from exc


class _Connection:
    __slots__ = ("idle_since", "key", "reader", "reused", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, key: object) -> None:
        self.reader = reader
        self.writer = writer
        self.key = key
        self.idle_since = 0.0
        self.reused = False

    def usable(self) -> bool:
        fresh = time.monotonic() - self.idle_since < IDLE_SECONDS
        return fresh and not self.reader.at_eof() and not self.writer.transport.is_closing()

    def abort(self) -> None:
        self.writer.transport.abort()


class _Stale(Exception):
    """A reused connection failed before the response started: send again on a new one."""


class Response:
    """Status, headers and the body of one response (read with ``aread``/``aiter_bytes``, then ``close``)."""

    def __init__(
        self, client: HTTPClient, conn: _Connection, status: int, headers: dict[str, str], *, head: bool, timeout: float
    ) -> None:
        self.status_code = status
        self.headers = headers
        self.content = b""
        self._read = False
        self._client = client
        self._conn: _Connection | None = conn
        self._timeout = timeout
        self._complete = False
        tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
        self._keep_alive = "close" not in tokens
        codings = [c.strip().lower() for c in headers.get("transfer-encoding", "").split(",") if c.strip()]
        self._length: int | None = None
        self._chunked = bool(codings) and codings[-1] == "chunked"
        if head or status in (204, 304):
            self._length = 0
        elif codings:
            self._keep_alive = self._keep_alive and self._chunked
        elif "content-length" in headers:
            values = {v.strip() for v in headers["content-length"].split(",")}
            value = values.pop() if len(values) == 1 else ""
            if not value.isdigit() or len(value) > 18:
                raise ProtocolError(f"the server sent a bad Content-Length: {headers['content-length'][:40]!r}")
            self._length = int(value)
        else:
            self._keep_alive = False  # the body ends when the server closes the connection

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The body in pieces as they arrive (decompressed), each read within ``timeout``."""
        encoding = self.headers.get("content-encoding", "identity").strip().lower()
        if encoding in ("", "identity"):
            async for piece in self._raw():
                yield piece
            return
        if encoding not in ("gzip", "x-gzip", "deflate"):
            raise ProtocolError(f"the server sent an unsupported Content-Encoding: {encoding[:40]!r}")
        import zlib

        decoder = zlib.decompressobj(wbits=47)  # gzip or zlib header
        try:
            async for piece in self._raw():
                while piece:
                    out = decoder.decompress(piece, _READ_SIZE)
                    piece = decoder.unconsumed_tail
                    if out:
                        yield out
            if tail := decoder.flush():
                yield tail
        except zlib.error as exc:
            raise ProtocolError(f"the server sent a corrupt {encoding} body: {exc}") from exc

    async def _raw(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None:
            raise ProtocolError("the response body was already read")
        reader = conn.reader
        if self._length is not None:
            remaining = self._length
            while remaining:
                data = await _guard(reader.read(min(remaining, _READ_SIZE)), self._timeout, "response body")
                if not data:
                    raise ProtocolError("the server closed the connection in the middle of the response body")
                remaining -= len(data)
                yield data
        elif self._chunked:
            async for data in self._chunks(reader):
                yield data
        else:
            while data := await _guard(reader.read(_READ_SIZE), self._timeout, "response body"):
                yield data
        self._complete = True

    async def _chunks(self, reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
        while True:
            line = await _guard(reader.readuntil(b"\n"), self._timeout, "chunk size")
            size_text = line.split(b";", 1)[0].strip()
            if not size_text or len(size_text) > 15 or size_text.strip(b"0123456789abcdefABCDEF"):
                raise ProtocolError(f"the server sent a bad chunk size: {line[:40]!r}")
            remaining = int(size_text, 16)
            if remaining == 0:
                break
            while remaining:
                data = await _guard(reader.read(min(remaining, _READ_SIZE)), self._timeout, "response body")
                if not data:
                    raise ProtocolError("the server closed the connection in the middle of a chunk")
                remaining -= len(data)
                yield data
            if await _guard(reader.readuntil(b"\n"), self._timeout, "chunk end") not in (b"\r\n", b"\n"):
                raise ProtocolError("the server sent a chunk longer than its size")
        trailer_bytes = 0
        while (line := await _guard(reader.readuntil(b"\n"), self._timeout, "trailer")).strip():
            trailer_bytes += len(line)
            if trailer_bytes > MAX_HEADER_BYTES:
                raise ProtocolError(f"the server sent more than {MAX_HEADER_BYTES} bytes of trailers")

    async def aread(self, limit: int = MAX_BODY_BYTES, *, truncate: bool = False) -> bytes:
        """The whole body (within ``timeout``), at most ``limit`` bytes.

        Raises:
            ProtocolError: the body is larger than ``limit`` (unless ``truncate``: then it is cut).
        """
        if self._read:
            return self.content
        parts: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self._timeout):
                async for piece in self.aiter_bytes():
                    parts.append(piece)
                    size += len(piece)
                    if size > limit:
                        if truncate:
                            break
                        raise ProtocolError(f"the server sent a response body larger than {limit // 1024**2} MiB")
        except TimeoutError as exc:
            raise ReadTimeout(f"the response body took longer than {self._timeout:g} s") from exc
        self.content = b"".join(parts)[:limit]
        self._read = True
        self.close()
        return self.content

    def json(self) -> Any:
        """The body read by :meth:`aread`, parsed (``ValueError`` when it is not UTF-8 JSON)."""
        return json.loads(self.content.decode("utf-8"))

    async def raise_for_status(self) -> None:
        """Raise :class:`HTTPStatusError` (with the parsed error body) for a status >= 400."""
        if self.status_code < 400:
            return
        raw = await self.aread(MAX_ERROR_BODY_BYTES, truncate=True)
        text = raw.decode("utf-8", errors="replace")
        body: object = text
        with contextlib.suppress(ValueError):
            body = json.loads(text)
        raise HTTPStatusError(self.status_code, body, self.headers)

    def close(self) -> None:
        """Return the connection to the pool when the body was read to its end, else close it."""
        conn, self._conn = self._conn, None
        if conn is not None:
            self._client._release(conn, reusable=self._complete and self._keep_alive)


class HTTPClient:
    """Keep-alive HTTP/1.1 client shared by every request of a model (32 agents in ``batch``)."""

    def __init__(self) -> None:
        self._idle: dict[object, list[_Connection]] = {}
        self._closed = False

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = 300.0,
    ) -> Response:
        """Send a request and read the whole response body (``response.content``)."""
        async with self.stream(method, url, headers=headers, body=body, timeout=timeout) as response:
            await response.aread()
        return response

    @contextlib.asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = 300.0,
    ) -> AsyncIterator[Response]:
        """Send a request; the response body is read inside the block (then the connection is released)."""
        response = await self.send(method, url, headers=headers, body=body, timeout=timeout)
        try:
            yield response
        finally:
            response.close()

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = 300.0,
    ) -> Response:
        """Send a request and read the response head; the caller reads the body and calls ``close``."""
        origin, target, host_header = split_url(url)
        proxy = proxy_for(origin.scheme, origin.host, origin.port)
        if proxy is not None and origin.scheme == "http":
            target = f"http://{host_header}{target}"  # absolute form through a proxy
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host_header}"]
        fields = dict(headers or {})
        if proxy is not None and proxy.authorization and origin.scheme == "http":
            fields["Proxy-Authorization"] = proxy.authorization
        if body is not None or method in ("POST", "PUT", "PATCH"):
            fields["Content-Length"] = str(len(body or b""))
        for name, value in fields.items():
            if any(c in f"{name}{value}" for c in "\r\n\0") or not name or ":" in name:
                raise BadRequest(f"the HTTP header {name!r} contains characters HTTP cannot carry")
            lines.append(f"{name}: {value}")
        try:
            request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
        except UnicodeEncodeError as exc:
            msg = f"an HTTP header contains non-Latin-1 text: {exc}"
            raise BadRequest(msg, hint="check the API key and the configured headers") from exc
        key = (origin, proxy)
        for attempt in (0, 1):
            conn = self._take_idle(key) if attempt == 0 else None
            if conn is None:
                conn = await self._open(origin, proxy, key, timeout)
            try:
                return await self._exchange(conn, request, method, timeout)
            except _Stale:
                conn.abort()
            except BaseException:
                conn.abort()
                raise
        raise AssertionError("unreachable")  # pragma: no cover - the second attempt never raises _Stale

    async def _exchange(self, conn: _Connection, request: bytes, method: str, timeout: float) -> Response:
        try:
            conn.writer.write(request)
            await _guard(conn.writer.drain(), timeout, "request")
            first = await _guard(conn.reader.readuntil(b"\n"), timeout, "response head")
        except ProtocolError as exc:
            nothing = isinstance(exc.__cause__, OSError | asyncio.IncompleteReadError) and not getattr(
                exc.__cause__, "partial", b""
            )
            if conn.reused and nothing:
                raise _Stale from exc
            raise
        head_bytes = len(first)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    status = _status(first)
                    headers: dict[str, str] = {}
                    while (line := await conn.reader.readuntil(b"\n")).strip():
                        head_bytes += len(line)
                        if head_bytes > MAX_HEADER_BYTES or len(headers) >= _MAX_HEADERS:
                            raise ProtocolError(f"the server sent a response head over {MAX_HEADER_BYTES} bytes")
                        name, sep, value = line.decode("latin-1").partition(":")
                        if not sep or not name.strip() or name[0] in " \t":
                            raise ProtocolError(f"the server sent a malformed header line: {line[:40]!r}")
                        key = name.strip().lower()
                        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
                    if not 100 <= status < 200:
                        break
                    first = await conn.reader.readuntil(b"\n")  # an interim response (100 Continue)
        except TimeoutError as exc:
            raise ReadTimeout(f"no complete response head within {timeout:g} s") from exc
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError) as exc:
            raise ProtocolError(f"the response head was cut or too long: {exc}") from exc
        return Response(self, conn, status, headers, head=method == "HEAD", timeout=timeout)

    async def _open(self, origin: Origin, proxy: Proxy | None, key: object, timeout: float) -> _Connection:
        tls = ssl_context() if origin.scheme == "https" else None
        where = f"{origin.host}:{origin.port}"
        limit = min(timeout, CONNECT_TIMEOUT)
        try:
            async with asyncio.timeout(limit):
                if proxy is None:
                    hostname = origin.host if tls else None
                    reader, writer = await asyncio.open_connection(
                        origin.host, origin.port, ssl=tls, server_hostname=hostname, limit=MAX_HEADER_BYTES
                    )
                else:
                    reader, writer = await asyncio.open_connection(proxy.host, proxy.port, limit=MAX_HEADER_BYTES)
                    if tls is not None:
                        await tunnel(reader, writer, origin, proxy)
                        await writer.start_tls(tls, server_hostname=origin.host)
        except TimeoutError as exc:
            raise ConnectTimeout(f"connecting to {where} took longer than {limit:g} s") from exc
        except OSError as exc:
            via = f" through the proxy {proxy.host}:{proxy.port}" if proxy else ""
            raise ConnectError(f"cannot connect to {where}{via}: {exc}") from exc
        return _Connection(reader, writer, key)

    def _take_idle(self, key: object) -> _Connection | None:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if conn.usable():
                conn.reused = True
                return conn
            conn.abort()
        return None

    def _release(self, conn: _Connection, *, reusable: bool) -> None:
        idle = self._idle.setdefault(conn.key, [])
        conn.idle_since = time.monotonic()
        if not reusable or self._closed or len(idle) >= MAX_IDLE_PER_ORIGIN or not conn.usable():
            conn.abort()
            return
        idle.append(conn)

    async def warm_up(self, url: str, *, timeout: float = CONNECT_TIMEOUT) -> None:
        """Open a connection to ``url``'s origin ahead of the first request (TCP and TLS); never raises."""
        try:
            origin, _, _ = split_url(url)
            if origin.scheme == "https":
                await asyncio.to_thread(ssl_context)  # loading the CA bundle takes tens of ms
            proxy = proxy_for(origin.scheme, origin.host, origin.port)
            key = (origin, proxy)
            conn = await self._open(origin, proxy, key, timeout)
        except Exception:  # the first request reports the problem
            return
        self._release(conn, reusable=True)

    async def aclose(self) -> None:
        """Close every idle connection; connections in use close when their response is done."""
        self._closed = True
        for idle in self._idle.values():
            for conn in idle:
                conn.writer.close()
        self._idle.clear()


def _status(line: bytes) -> int:
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not (parts[1].isdigit() and len(parts[1]) == 3):
        raise ProtocolError(f"the server did not answer with HTTP/1.x: {line[:60]!r}")
    return int(parts[1])
