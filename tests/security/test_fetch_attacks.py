"""A4: `fetch_url` runs on the host, so it follows the agent's network policy.

Unit attacks on the address checks, then the real `kwaak run-agent` with a scripted model under
local, sandbox and docker against fake web servers on 127.0.0.1 / 127.0.0.2: refused by default,
refused when the executor has no network, reachable only when the test config allow-lists it,
and a redirect hop to a non-allowed address is refused before anything connects to it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest

from kwaak.tools.base import ToolError
from kwaak.tools.netguard import NetworkPolicy, is_public
from kwaak.tools.web import fetch_url
from tests.fakes.web_server import FakeWebServer, Response
from tests.scripted import tool
from tests.security.harness import config_for, run_agent

REFUSED = [
    "127.0.0.1",
    "127.3.4.5",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # CGNAT
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fd00::1",  # ULA
    "ff02::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
]


@pytest.mark.parametrize("address", REFUSED)
def test_a4_1_non_public_addresses_are_refused(address: str) -> None:
    """A4.1: loopback, private, link-local, CGNAT, multicast and IPv4 hidden in IPv6 are not public."""
    ip = ipaddress.ip_address(address)
    assert not is_public(ip)
    with pytest.raises(ToolError, match="loopback, private or link-local"):
        NetworkPolicy().check(ip, address)


@pytest.mark.parametrize("address", ["1.1.1.1", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert is_public(ip)
    NetworkPolicy().check(ip, address)


@pytest.fixture
def site() -> Iterator[FakeWebServer]:
    with FakeWebServer() as server:
        yield server


@pytest.fixture
def other_site() -> Iterator[FakeWebServer]:
    """A second server on 127.0.0.2 (another loopback address, never allow-listed)."""
    with FakeWebServer(host="127.0.0.2") as server:
        yield server


async def test_a4_2_loopback_by_address_name_and_odd_spellings_is_refused(site: FakeWebServer) -> None:
    """A4.2: 127.0.0.1, `localhost`, `[::ffff:127.0.0.1]`, a decimal IPv4 and `0.0.0.0` never connect."""
    port = site.url.rsplit(":", 1)[1]
    for host in ("127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "2130706433", "0.0.0.0", "[::1]"):
        with pytest.raises(ToolError, match="Failed to fetch url"):
            await fetch_url(f"http://{host}:{port}/page.html")
    assert site.requests == []


async def test_a4_3_allow_list_opens_exactly_the_listed_network(site: FakeWebServer, other_site: FakeWebServer) -> None:
    """A4.3: allow-listing 127.0.0.1/32 reaches the site (also by name), with the right Host header."""
    policy = NetworkPolicy.of(True, ["127.0.0.1/32"])
    port = site.url.rsplit(":", 1)[1]
    text = await fetch_url(f"http://localhost:{port}/page.html", policy=policy)
    assert "# Installing kwaak" in text
    assert site.requests[-1].headers["host"] == f"localhost:{port}"
    with pytest.raises(ToolError, match="loopback, private"):
        await fetch_url(f"{other_site.url}/page.html", policy=policy)
    assert other_site.requests == []


async def test_a4_4_every_redirect_hop_is_checked(site: FakeWebServer, other_site: FakeWebServer) -> None:
    """A4.4: an allowed site redirecting to a non-allowed address is refused at that hop."""
    site.add("/evil", Response(status=302, headers={"Location": f"{other_site.url}/page.html"}))
    site.add("/meta", Response(status=301, headers={"Location": "http://169.254.169.254/latest/meta-data/"}))
    policy = NetworkPolicy.of(True, ["127.0.0.1/32"])
    for path in ("/evil", "/meta"):
        with pytest.raises(ToolError, match="loopback, private or link-local"):
            await fetch_url(f"{site.url}{path}", policy=policy)
    assert other_site.requests == []
    assert [r.path for r in site.requests] == ["/evil", "/meta"]


async def test_a4_5_no_network_refuses_everything(site: FakeWebServer) -> None:
    """A4.5: an agent without network cannot fetch at all, allow-list or not."""
    policy = NetworkPolicy.of(False, ["127.0.0.1/32"])
    with pytest.raises(ToolError, match="no network access"):
        await fetch_url(f"{site.url}/page.html", policy=policy)
    assert site.requests == []


# ---------------------------------------------------------------------------- through the CLI


ALLOW_LOOPBACK = """
[web]
allow_private_networks = ["127.0.0.1/32"]
[sandbox]
network = true
[docker]
network = true
"""


def _fetch_script(*urls: str) -> list[dict[str, object]]:
    return [tool("fetch_url", url=url) for url in urls]


def test_a4_6_fetch_url_through_run_agent_follows_the_network_policy(
    tmp_git_repo: Path, executor: str, site: FakeWebServer, other_site: FakeWebServer
) -> None:
    """A4.6: the real CLI. Default config: 127.0.0.1 refused (sandbox and docker: no network at all); with the
    network on and 127.0.0.1/32 allow-listed the page is fetched, but a redirect to 127.0.0.2 is not."""
    site.add("/hop", Response(status=302, headers={"Location": f"{other_site.url}/page.html"}))
    urls = (f"{site.url}/page.html", f"{site.url}/hop", f"http://localhost:{site.url.rsplit(':', 1)[1]}/plain.txt")

    default = run_agent(tmp_git_repo, config_for(tmp_git_repo, _fetch_script(*urls), executor))
    assert default.code == 0, default.describe()
    results = default.tool_results("fetch_url")
    assert len(results) == 3 and not any(r["ok"] for r in results), results
    expected = "loopback, private or link-local" if executor == "local" else "no network access"
    assert all(expected in r["output"] for r in results), results
    assert site.requests == [] and other_site.requests == []

    allowed = config_for(
        tmp_git_repo,
        _fetch_script(*urls),
        executor,
        tables=ALLOW_LOOPBACK,
    )
    out = run_agent(tmp_git_repo, allowed)
    assert out.code == 0, out.describe()
    page, hop, by_name = out.tool_results("fetch_url")
    assert page["ok"] and "Installing kwaak" in page["output"], page
    assert not hop["ok"] and "loopback, private or link-local" in hop["output"], hop
    assert by_name["ok"] and "just some text" in by_name["output"], by_name
    assert other_site.requests == []
