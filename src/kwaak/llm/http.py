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
import time
from collections.abc import AsyncIterator, Mapping

from kwaak.errors import BadRequest
from kwaak.llm.http_env import Origin, Proxy, proxy_for, split_url, ssl_context_off_loop, tunnel
from kwaak.llm.http_errors import (
    BadResponse,
    ConnectError,
    ConnectTimeout,
    HTTPError,
    HTTPStatusError,
    HTTPTimeout,
    ProtocolError,
    ReadTimeout,
    Redirected,
    StreamErrorEvent,
)
from kwaak.llm.http_response import (
    CONNECT_TIMEOUT,
    MAX_BODY_BYTES,
    MAX_HEADER_BYTES,
    MAX_HEADERS,
    MAX_IDLE_PER_ORIGIN,
    Connection,
    Response,
    guard,
    parse_status,
)

__all__ = [
    "BadResponse",
    "ConnectError",
    "ConnectTimeout",
    "MAX_BODY_BYTES",
    "HTTPClient",
    "HTTPError",
    "HTTPStatusError",
    "HTTPTimeout",
    "ProtocolError",
    "ReadTimeout",
    "Redirected",
    "Response",
    "StreamErrorEvent",
]


class _Stale(Exception):
    """A reused connection failed before the response started: send again on a new one."""


class HTTPClient:
    """Keep-alive HTTP/1.1 client shared by every request of a model (32 agents in ``batch``)."""

    def __init__(self) -> None:
        self._idle: dict[object, list[Connection]] = {}

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

    async def _exchange(self, conn: Connection, request: bytes, method: str, timeout: float) -> Response:
        try:
            conn.writer.write(request)
            await guard(conn.writer.drain(), timeout, "sending the request")
            first = await guard(conn.reader.readuntil(b"\n"), timeout, "reading the response head")
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
                    status = parse_status(first)
                    headers: dict[str, str] = {}
                    while (line := await conn.reader.readuntil(b"\n")).strip():
                        head_bytes += len(line)
                        if head_bytes > MAX_HEADER_BYTES or len(headers) >= MAX_HEADERS:
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
        http10 = first.startswith(b"HTTP/1.0")
        return Response(self, conn, status, headers, head=method == "HEAD", timeout=timeout, http10=http10)

    async def _open(self, origin: Origin, proxy: Proxy | None, key: object, timeout: float) -> Connection:
        tls = await ssl_context_off_loop() if origin.scheme == "https" else None
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
        return Connection(reader, writer, key)

    def _take_idle(self, key: object) -> Connection | None:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if conn.usable():
                conn.reused = True
                return conn
            conn.abort()
        return None

    def _release(self, conn: Connection, *, reusable: bool) -> None:
        idle = self._idle.setdefault(conn.key, [])
        conn.idle_since = time.monotonic()
        if not reusable or len(idle) >= MAX_IDLE_PER_ORIGIN or not conn.usable():
            conn.abort()
            return
        idle.append(conn)

    async def warm_up(self, url: str, *, timeout: float = CONNECT_TIMEOUT) -> None:
        """Open a connection to ``url``'s origin ahead of the first request (TCP and TLS); never raises."""
        try:
            origin, _, _ = split_url(url)
            proxy = proxy_for(origin.scheme, origin.host, origin.port)
            key = (origin, proxy)
            conn = await self._open(origin, proxy, key, timeout)
        except Exception:  # the first request reports the problem
            return
        self._release(conn, reusable=True)

    async def aclose(self) -> None:
        """Close every idle connection (the client stays usable: a later request connects anew)."""
        for idle in self._idle.values():
            for conn in idle:
                with contextlib.suppress(RuntimeError):  # a connection of a closed event loop
                    conn.writer.close()
        self._idle.clear()
