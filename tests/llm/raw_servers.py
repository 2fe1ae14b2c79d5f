"""Raw asyncio servers on 127.0.0.1 for the HTTP client tests: scripted responses, a CONNECT proxy, TLS."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]
"""Serves one connection; gets its 0-based number."""


async def read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes]:
    """One request: its request line, headers (lower-case names) and body (Content-Length only)."""
    line = (await reader.readuntil(b"\r\n")).decode().strip()
    headers: dict[str, str] = {}
    while (raw := await reader.readuntil(b"\r\n")) != b"\r\n":
        name, _, value = raw.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return line, headers, body


def response(body: bytes, *, status: str = "200 OK", extra: str = "") -> bytes:
    """A Content-Length response."""
    return f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


@dataclass
class RawServer:
    """Runs ``handler`` for each connection; counts connections and records request lines."""

    handler: Handler
    ssl_context: ssl.SSLContext | None = None
    connections: int = 0
    requests: list[str] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = self.connections
        self.connections += 1
        try:
            await self.handler(reader, writer, number)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self.closed.append(number)
            writer.close()

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl_context)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                await self._server.wait_closed()


def keep_alive(body: bytes, *, requests: list[str] | None = None) -> Handler:
    """Answer every request on the connection with ``body`` (Content-Length, keep-alive)."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        while True:
            try:
                line, _, _ = await read_request(reader)
            except asyncio.IncompleteReadError:
                return
            if requests is not None:
                requests.append(line)
            writer.write(response(body))
            await writer.drain()

    return handler


@dataclass
class ConnectProxy:
    """An http proxy: CONNECT tunnels and absolute-form requests, both piped to the target."""

    lines: list[str] = field(default_factory=list)
    auth: list[str | None] = field(default_factory=list)
    refuse: bytes | None = None
    """A status line to answer CONNECT with instead of tunnelling."""
    server: RawServer | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        line = (await reader.readuntil(b"\r\n")).decode().strip()
        head = [line]
        headers: dict[str, str] = {}
        while (raw := await reader.readuntil(b"\r\n")) != b"\r\n":
            head.append(raw.decode().strip())
            name, _, value = raw.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        self.lines.append(line)
        self.auth.append(headers.get("proxy-authorization"))
        method, target, _ = line.split(" ", 2)
        if method == "CONNECT" and self.refuse is not None:
            writer.write(self.refuse + b"\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            return
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:  # absolute form: http://host:port/path
            hostport = target.split("/")[2]
            host, _, port = hostport.rpartition(":")
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            up_writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    async def __aenter__(self) -> ConnectProxy:
        self.server = await RawServer(self._handle).__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        await self.server.__aexit__(*exc)

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


def self_signed(
    directory: Path, names: tuple[str, ...] = ("localhost",), ips: tuple[str, ...] = ("127.0.0.1",)
) -> tuple[Path, Path]:
    """A self-signed certificate for ``names`` and ``ips`` and its key (PEM files)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [*(x509.DNSName(n) for n in names), *(x509.IPAddress(ipaddress.ip_address(i)) for i in ips)]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / f"{names[0]}.pem", directory / f"{names[0]}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


def server_tls(cert: Path, key: Path) -> ssl.SSLContext:
    """A server TLS context for the certificate."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def collect(chunks: AsyncIterator[bytes]) -> bytes:
    """All pieces of a streamed body."""
    return b"".join([c async for c in chunks])
