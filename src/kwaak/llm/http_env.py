"""What the provider HTTP client takes from the environment: proxies and the TLS trust store.

Both follow what the ``openai``/``anthropic`` SDKs (httpx) did, so a setup that worked with them
keeps working:

* proxies: ``HTTPS_PROXY`` for https targets, ``HTTP_PROXY`` for http targets, ``ALL_PROXY`` for
  both (lower-case names win over upper-case ones), skipped for hosts ``NO_PROXY`` names (``*``,
  host names and their subdomains, ``host:port``, IP addresses and networks). Only http:// proxies
  exist here (CONNECT tunnels for https targets); a socks proxy is refused with a hint.
* TLS: ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set, else the ``certifi`` bundle when installed,
  else the system store. The context is built once per process, and only when an https URL is used.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from kwaak.errors import BadRequest, Unreachable

if TYPE_CHECKING:
    import ssl

DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_PROXY_HEAD_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Proxy:
    """An http:// proxy (its credentials become a ``Proxy-Authorization`` header)."""

    host: str
    port: int
    authorization: str | None = field(default=None, repr=False)


def _env(environ: Mapping[str, str], name: str) -> str:
    return (environ.get(name.lower()) or environ.get(name.upper()) or "").strip()


def proxy_for(scheme: str, host: str, port: int, environ: Mapping[str, str] | None = None) -> Proxy | None:
    """The proxy to reach ``scheme://host:port`` through, ``None`` for a direct connection.

    Raises:
        Unreachable: the environment names a proxy kwaak cannot use (socks, https://).
    """
    environ = os.environ if environ is None else environ
    raw = _env(environ, f"{scheme}_proxy") or _env(environ, "all_proxy")
    if not raw or bypasses_proxy(host, port, _env(environ, "no_proxy")):
        return None
    return parse_proxy(raw)


def parse_proxy(raw: str) -> Proxy:
    """A proxy URL (``http://user:pass@host:port``; no scheme means http)."""
    parts = urlsplit(raw if "://" in raw else f"http://{raw}")
    scheme = parts.scheme.lower()
    if scheme != "http" or not parts.hostname:
        shown = f"{scheme}://{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
        kind = "SOCKS proxies" if scheme.startswith("socks") else f"{scheme}:// proxies"
        raise Unreachable(
            f"cannot use the proxy {shown} from the environment: {kind} are not supported",
            hint="set HTTPS_PROXY/HTTP_PROXY to an http:// proxy, or list the host in NO_PROXY",
        )
    authorization = None
    if parts.username is not None:
        import base64

        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        authorization = "Basic " + base64.b64encode(credentials).decode("ascii")
    return Proxy(host=parts.hostname, port=parts.port or 80, authorization=authorization)


def bypasses_proxy(host: str, port: int, no_proxy: str) -> bool:
    """Whether ``NO_PROXY`` (comma or space separated) names ``host`` (and ``port``, when it has one)."""
    host = host.lower().strip("[]")
    for entry in no_proxy.replace(" ", ",").split(","):
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        name, want_port = _split_port(entry)
        if want_port is not None and want_port != port:
            continue
        if _host_matches(host, name):
            return True
    return False


def _split_port(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):  # [::1]:8080
        name, _, rest = entry[1:].partition("]")
        return name, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if entry.count(":") == 1:
        name, _, port = entry.partition(":")
        return name, int(port) if port.isdigit() else None
    return entry, None


def _host_matches(host: str, name: str) -> bool:
    name = name.lstrip("*").lstrip(".") if name.startswith(("*.", ".")) else name
    if host == name or host.endswith("." + name):
        return True
    if "/" in name or _looks_like_ip(host):
        import ipaddress

        try:
            return ipaddress.ip_address(host) in ipaddress.ip_network(name, strict=False)
        except ValueError:
            return False
    return False


def _looks_like_ip(host: str) -> bool:
    return ":" in host or host.replace(".", "").isdigit()


def ssl_context() -> ssl.SSLContext:
    """The verifying client TLS context (SNI and host name checks on), built once per trust store."""
    key = (os.environ.get("SSL_CERT_FILE") or None, os.environ.get("SSL_CERT_DIR") or None)
    context = _SSL_CONTEXTS.get(key)
    if context is None:
        context = _SSL_CONTEXTS[key] = _build_ssl_context(*key)
    return context


async def ssl_context_off_loop() -> ssl.SSLContext:
    """:func:`ssl_context`, loading the CA bundle (tens of ms) in a worker thread the first time."""
    key = (os.environ.get("SSL_CERT_FILE") or None, os.environ.get("SSL_CERT_DIR") or None)
    context = _SSL_CONTEXTS.get(key)
    return context if context is not None else await asyncio.to_thread(ssl_context)


_SSL_CONTEXTS: dict[tuple[str | None, str | None], ssl.SSLContext] = {}


def _build_ssl_context(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    import ssl

    if cafile is None and capath is None:
        try:
            import certifi
        except ImportError:
            context = ssl.create_default_context()
        else:
            context = ssl.create_default_context(cafile=certifi.where())
    else:
        context = ssl.create_default_context(cafile=cafile, capath=capath)
    context.set_alpn_protocols(["http/1.1"])
    return context


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a request goes: scheme, host and port (a key of the connection pool)."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def split_url(url: str) -> tuple[Origin, str, str]:
    """``(origin, request target, Host header)`` of an http(s) URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise BadRequest(f"not an http(s) URL: {url!r}", hint="check `base_url` in kwaak.toml")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError as exc:
        raise BadRequest(f"bad port in URL {url!r}", hint="check `base_url` in kwaak.toml") from exc
    host = parts.hostname
    shown = f"[{host}]" if ":" in host else host
    host_header = shown if port == DEFAULT_PORTS[scheme] else f"{shown}:{port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Origin(scheme, host, port), target, host_header


async def tunnel(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, origin: Origin, proxy: Proxy) -> None:
    """Ask an http proxy for a CONNECT tunnel to ``origin``.

    Raises:
        OSError: the proxy broke the exchange.
        Unreachable: the proxy answered, but not with 200 (e.g. 407: credentials missing or wrong).
    """
    target = f"[{origin.host}]:{origin.port}" if ":" in origin.host else f"{origin.host}:{origin.port}"
    lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
    if proxy.authorization:
        lines.append(f"Proxy-Authorization: {proxy.authorization}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    await writer.drain()
    try:
        first = await reader.readuntil(b"\n")
        size = len(first)
        while (line := await reader.readuntil(b"\n")).strip():
            size += len(line)
            if size > MAX_PROXY_HEAD_BYTES:
                raise OSError(f"the proxy sent a response head over {MAX_PROXY_HEAD_BYTES} bytes")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        raise OSError(f"the proxy closed the connection during CONNECT: {exc}") from exc
    parts = first.split(None, 2)
    if len(parts) < 2 or parts[1] != b"200":
        shown = first.decode("latin-1", errors="replace").strip()[:100]
        raise Unreachable(  # a configuration problem (credentials, ACLs): retrying does not help
            f"the proxy {proxy.host}:{proxy.port} refused the tunnel to {target}: {shown}",
            hint="check the proxy and its credentials in HTTPS_PROXY/ALL_PROXY, or list the host in NO_PROXY",
        )
