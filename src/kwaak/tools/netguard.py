"""Where host-side network tools (``fetch_url``) may connect on an agent's behalf.

``fetch_url`` runs on the host, outside the agent's sandbox or container, so it follows the
agent's network policy itself:

* the agent's executor has no network (``sandbox.network = false``, ``docker.network = false``, the
  defaults) → every fetch is refused;
* otherwise loopback, private (RFC 1918, IPv6 ULA), link-local, CGNAT, multicast, reserved and
  unspecified addresses are refused — including IPv4 addresses hidden in IPv6 (mapped, 6to4,
  Teredo, NAT64) — unless a network is listed in ``web.allow_private_networks``.

Every address a host name resolves to is checked, on every redirect hop, and the connection goes
to the checked address itself (the host name only travels in ``Host`` and TLS SNI), so a DNS
answer that changes between the check and the connect (DNS rebinding) cannot redirect it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kwaak.tools.base import ToolError

if TYPE_CHECKING:
    import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """What a host-side fetch may reach for one agent."""

    network: bool = True
    """Whether the agent's executor has network access at all."""
    allowed: tuple[IPNetwork, ...] = ()
    """Non-public networks that are allowed anyway (``web.allow_private_networks``)."""

    @classmethod
    def of(cls, network: bool, allow: Sequence[str]) -> NetworkPolicy:
        """A policy from the executor's network flag and the configured allow-list."""
        return cls(network=network, allowed=tuple(ipaddress.ip_network(a, strict=False) for a in allow))

    def check(self, ip: IPAddress, host: str) -> None:
        """Refuse ``ip`` (one address of ``host``) unless it is public or allow-listed.

        Raises:
            ToolError: the address is not public and not allow-listed.
        """
        if any(ip in net for net in self.allowed):
            return
        if is_public(ip):
            return
        shown = host if host == str(ip) else f"{host} ({ip})"
        msg = (
            f"Failed to fetch url: {shown} is a loopback, private or link-local address; fetch_url only reaches "
            "public addresses (the user can allow a network with `web.allow_private_networks`)."
        )
        raise ToolError(msg)


def is_public(ip: IPAddress) -> bool:
    """Whether ``ip`` is a globally routed unicast address (no IPv4 private address hidden inside)."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded: list[ipaddress.IPv4Address] = []
        if ip.ipv4_mapped is not None:
            embedded.append(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            embedded.append(ip.sixtofour)
        if ip.teredo is not None:
            embedded.append(ip.teredo[1])
        if ip in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if any(not is_public(v4) for v4 in embedded):
            return False
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_link_local)


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (an IP literal resolves to itself).

    Raises:
        ToolError: the name does not resolve.
    """
    try:
        return [ipaddress.ip_address(host.strip("[]").split("%")[0])]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        msg = f"Failed to fetch url: cannot resolve {host!r} ({exc})"
        raise ToolError(msg) from exc
    found: list[IPAddress] = []
    for family, *_rest, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            ip = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
            if ip not in found:
                found.append(ip)
    if not found:
        msg = f"Failed to fetch url: {host!r} has no address"
        raise ToolError(msg)
    return found


async def pinned_request(client: httpx.AsyncClient, url: httpx.URL, policy: NetworkPolicy) -> httpx.Request:
    """A GET of ``url`` that connects to a checked address of its host (never re-resolved)."""
    if not policy.network:
        msg = (
            "Failed to fetch url: this agent has no network access (its executor runs without a network), "
            "so fetch_url is disabled too. Set `sandbox.network = true` (or `docker.network = true`) to allow it."
        )
        raise ToolError(msg)
    if url.scheme not in ("http", "https") or not url.host:
        msg = f"Failed to fetch url: {str(url)!r} is not an http(s) URL"
        raise ToolError(msg)
    host = url.host
    port = url.port or (443 if url.scheme == "https" else 80)
    addresses = await resolve(host, port)
    for ip in addresses:
        policy.check(ip, host)
    target = addresses[0]
    request = client.build_request("GET", url.copy_with(host=str(target)))
    request.headers["Host"] = url.netloc.decode("ascii")
    if url.scheme == "https":
        request.extensions["sni_hostname"] = host
    return request
