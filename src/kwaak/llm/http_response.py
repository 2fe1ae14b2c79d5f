"""Connections and responses of the provider HTTP client (:mod:`kwaak.llm.http`): body framing and limits."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable
from typing import TYPE_CHECKING, Any, TypeVar

from kwaak.llm.http_errors import HTTPStatusError, ProtocolError, ReadTimeout, Redirected

if TYPE_CHECKING:
    from kwaak.llm.http import HTTPClient

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
READ_SIZE = 64 * 1024
MAX_HEADERS = 256


async def guard(awaitable: Awaitable[T], timeout: float, what: str) -> T:
    """Await one read or write; translate timeouts, early closes and socket errors into :class:`HTTPError`.

    ``what`` completes "while ...": "sending the request", "reading the response head", ...
    """
    try:
        async with asyncio.timeout(timeout):
            return await awaitable
    except TimeoutError as exc:  # before OSError: TimeoutError is one
        raise ReadTimeout(f"no progress for {timeout:g} s while {what}") from exc
    except asyncio.IncompleteReadError as exc:
        raise ProtocolError(f"the server closed the connection while {what}") from exc
    except asyncio.LimitOverrunError as exc:
        raise ProtocolError(f"the server sent a line longer than {MAX_HEADER_BYTES} bytes while {what}") from exc
    except OSError as exc:
        raise ProtocolError(f"the connection broke while {what}: {exc}") from exc


class Connection:
    """One open connection of the pool."""

    __slots__ = ("idle_since", "key", "loop", "reader", "reused", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, key: object) -> None:
        self.reader = reader
        self.writer = writer
        self.key = key
        self.loop = asyncio.get_running_loop()
        self.idle_since = 0.0
        self.reused = False

    def usable(self) -> bool:
        """Fresh, still open, and on the running event loop (a model may outlive an ``asyncio.run``)."""
        fresh = time.monotonic() - self.idle_since < IDLE_SECONDS
        same_loop = self.loop is asyncio.get_running_loop()
        return fresh and same_loop and not self.reader.at_eof() and not self.writer.transport.is_closing()

    def abort(self) -> None:
        """Close at once (no TLS close_notify); a connection of a closed event loop is just dropped."""
        with contextlib.suppress(RuntimeError):  # "Event loop is closed"
            self.writer.transport.abort()


class Response:
    """Status, headers and the body of one response (read with ``aread``/``aiter_bytes``, then ``close``)."""

    def __init__(
        self,
        client: HTTPClient,
        conn: Connection,
        status: int,
        headers: dict[str, str],
        *,
        head: bool,
        timeout: float,
        http10: bool = False,
    ) -> None:
        self.status_code = status
        self.headers = headers
        self.content = b""
        self._read = False
        self._client = client
        self._conn: Connection | None = conn
        self._timeout = timeout
        self._complete = False
        tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
        self._keep_alive = "close" not in tokens and (not http10 or "keep-alive" in tokens)
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
                    out = decoder.decompress(piece, READ_SIZE)
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
            async for data in self._exactly(reader, self._length, "the response body"):
                yield data
        elif self._chunked:
            async for data in self._chunks(reader):
                yield data
        else:
            while data := await guard(reader.read(READ_SIZE), self._timeout, "reading the response body"):
                yield data
        self._complete = True

    async def _exactly(self, reader: asyncio.StreamReader, size: int, part: str) -> AsyncIterator[bytes]:
        """``size`` bytes of the body as they arrive (``part`` names them if the server stops early)."""
        remaining = size
        while remaining:
            data = await guard(reader.read(min(remaining, READ_SIZE)), self._timeout, "reading the response body")
            if not data:
                raise ProtocolError(f"the server closed the connection in the middle of {part}")
            remaining -= len(data)
            yield data

    async def _chunks(self, reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
        while True:
            line = await guard(reader.readuntil(b"\n"), self._timeout, "reading a chunk size")
            size_text = line.split(b";", 1)[0].strip()
            if not size_text or len(size_text) > 15 or size_text.strip(b"0123456789abcdefABCDEF"):
                raise ProtocolError(f"the server sent a bad chunk size: {line[:40]!r}")
            size = int(size_text, 16)
            if size == 0:
                break
            async for data in self._exactly(reader, size, "a chunk"):
                yield data
            if await guard(reader.readuntil(b"\n"), self._timeout, "reading a chunk end") not in (b"\r\n", b"\n"):
                raise ProtocolError("the server sent a chunk longer than its size")
        trailer_bytes = 0
        while (line := await guard(reader.readuntil(b"\n"), self._timeout, "reading the trailers")).strip():
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
        """Raise :class:`HTTPStatusError` (parsed error body) for a status >= 400, :class:`Redirected` for 3xx."""
        if 300 <= self.status_code < 400 and self.status_code != 304:
            self.close()
            raise Redirected(self.status_code, self.headers.get("location", "")[:300])
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


def parse_status(line: bytes) -> int:
    """The status code of a status line."""
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not (parts[1].isdigit() and len(parts[1]) == 3):
        raise ProtocolError(f"the server did not answer with HTTP/1.x: {line[:60]!r}")
    return int(parts[1])
