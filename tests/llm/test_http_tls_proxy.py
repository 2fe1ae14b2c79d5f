"""TLS trust and proxies of kwaak's provider HTTP client, against real loopback servers."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest

from kwaak.config.model import BackoffConfig
from kwaak.errors import Unreachable
from kwaak.llm import make_model
from kwaak.llm.http import HTTPClient
from kwaak.llm.http_env import bypasses_proxy, parse_proxy, proxy_for
from kwaak.messages import UserMessage
from tests.fakes.provider_server import FakeProviderServer, reply
from tests.llm.helpers import openai_cfg
from tests.llm.raw_servers import ConnectProxy, RawServer, keep_alive, self_signed, server_tls

PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed(tmp_path)


class At:
    """A config target (``openai_cfg`` takes anything with ``url``)."""

    def __init__(self, url: str) -> None:
        self.url = url


async def test_tls_with_a_ca_from_ssl_cert_file(cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))
    async with RawServer(keep_alive(b'{"secure": true}'), ssl_context=server_tls(*cert)) as srv:
        client = HTTPClient()
        for host in ("127.0.0.1", "localhost"):  # IP and DNS names, both checked against the certificate
            url = srv.url.replace("127.0.0.1", host)
            assert (await client.request("GET", url)).json() == {"secure": True}
        await client.aclose()
    assert srv.connections == 2


async def test_warm_up_opens_the_tls_connection_the_first_request_uses(
    cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))
    async with RawServer(keep_alive(b"{}"), ssl_context=server_tls(*cert)) as srv:
        client = HTTPClient()
        await client.warm_up(srv.url + "/v1/chat/completions")
        await client.request("GET", srv.url)
        await client.aclose()
    assert srv.connections == 1


async def test_an_untrusted_certificate_is_unreachable_with_a_tls_reason(
    cert: tuple[Path, Path], no_retry: BackoffConfig
) -> None:
    async with RawServer(keep_alive(b"{}"), ssl_context=server_tls(*cert)) as srv:
        model = make_model(openai_cfg(At(srv.url), context_window=8192), backoff=no_retry)  # type: ignore[arg-type]
        with pytest.raises(Unreachable) as info:
            await model.complete([UserMessage(content="hi")])
    assert "TLS error" in info.value.message and "certificate verify failed" in info.value.message
    assert srv.url in info.value.message


async def test_a_trusted_certificate_for_another_host_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_retry: BackoffConfig
) -> None:
    elsewhere = self_signed(tmp_path, names=("elsewhere.test",), ips=())
    monkeypatch.setenv("SSL_CERT_FILE", str(elsewhere[0]))
    async with RawServer(keep_alive(b"{}"), ssl_context=server_tls(*elsewhere)) as srv:
        model = make_model(openai_cfg(At(srv.url), context_window=8192), backoff=no_retry)  # type: ignore[arg-type]
        with pytest.raises(Unreachable) as info:
            await model.complete([UserMessage(content="hi")])
    assert "TLS error" in info.value.message and "mismatch" in info.value.message


async def test_https_through_a_connect_proxy_with_credentials(
    cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))
    async with (
        ConnectProxy() as proxy,
        RawServer(keep_alive(b'{"via": "tunnel"}'), ssl_context=server_tls(*cert)) as srv,
    ):
        monkeypatch.setenv("HTTPS_PROXY", proxy.url.replace("http://", "http://us%40er:p%3Ass@"))
        client = HTTPClient()
        for _ in range(2):
            assert (await client.request("GET", srv.url + "/v1/models")).json() == {"via": "tunnel"}
        await client.aclose()
    assert proxy.lines == [f"CONNECT 127.0.0.1:{srv.port} HTTP/1.1"]  # one tunnel, kept alive
    assert proxy.auth == ["Basic " + base64.b64encode(b"us@er:p:ss").decode()]


async def test_http_through_a_proxy_uses_the_absolute_form(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    async with ConnectProxy() as proxy, RawServer(keep_alive(b"{}", requests=seen)) as srv:
        monkeypatch.setenv("http_proxy", proxy.url.replace("http://", "http://kw:secret@"))
        await HTTPClient().request("POST", srv.url + "/v1/embeddings", body=b"{}")
    assert seen == [f"POST http://127.0.0.1:{srv.port}/v1/embeddings HTTP/1.1"]
    assert proxy.lines == seen
    assert proxy.auth == ["Basic " + base64.b64encode(b"kw:secret").decode()]


async def test_a_proxy_refusing_the_tunnel_is_unreachable_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    slow = BackoffConfig()  # 15 s, 30 s, 60 s: a retried failure would take minutes
    async with ConnectProxy(refuse=b"HTTP/1.1 407 Proxy Authentication Required") as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        model = make_model(openai_cfg(At("https://llm.example.com"), context_window=8192), backoff=slow)  # type: ignore[arg-type]
        with pytest.raises(Unreachable) as info:
            await asyncio.wait_for(model.complete([UserMessage(content="hi")]), 10)
    assert info.value.message.endswith(
        "refused the tunnel to llm.example.com:443: HTTP/1.1 407 Proxy Authentication Required"
    )
    assert info.value.hint is not None and "credentials" in info.value.hint
    assert proxy.lines == ["CONNECT llm.example.com:443 HTTP/1.1"]


async def test_no_proxy_bypasses_the_proxy(monkeypatch: pytest.MonkeyPatch, fast_backoff: BackoffConfig) -> None:
    async with ConnectProxy() as proxy:
        monkeypatch.setenv("ALL_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "example.com, 127.0.0.0/8")
        with FakeProviderServer() as srv:
            srv.enqueue(reply("direct"))
            model = make_model(openai_cfg(srv, context_window=8192), backoff=fast_backoff)
            assert await model.prompt("hi") == "direct"
    assert proxy.lines == []


async def test_a_socks_proxy_is_a_one_line_error_with_a_hint(
    monkeypatch: pytest.MonkeyPatch, no_retry: BackoffConfig
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "socks5://127.0.0.1:1080")
    model = make_model(openai_cfg(At("https://llm.example.com"), context_window=8192), backoff=no_retry)  # type: ignore[arg-type]
    with pytest.raises(Unreachable) as info:
        await model.complete([UserMessage(content="hi")])
    assert info.value.message == (
        "cannot use the proxy socks5://127.0.0.1:1080 from the environment: SOCKS proxies are not supported"
    )
    assert info.value.hint is not None and "NO_PROXY" in info.value.hint


def test_proxy_selection_follows_the_environment() -> None:
    env = {"https_proxy": "http://lower:1", "HTTPS_PROXY": "http://upper:2", "ALL_PROXY": "proxy.corp:3128"}
    assert proxy_for("https", "api.openai.com", 443, env) == parse_proxy("http://lower:1")
    assert proxy_for("http", "api.openai.com", 80, env) == parse_proxy("http://proxy.corp:3128")
    assert proxy_for("https", "api.openai.com", 443, env | {"NO_PROXY": "*"}) is None
    assert proxy_for("https", "x", 443, {}) is None


@pytest.mark.parametrize(
    ("host", "port", "no_proxy", "bypass"),
    [
        ("api.openai.com", 443, "openai.com", True),
        ("api.openai.com", 443, ".openai.com", True),
        ("api.openai.com", 443, "*.openai.com", True),
        ("notopenai.com", 443, "openai.com", False),
        ("localhost", 8080, "localhost:8080", True),
        ("localhost", 8081, "localhost:8080", False),
        ("10.1.2.3", 80, "10.0.0.0/8", True),
        ("192.168.1.1", 80, "10.0.0.0/8,192.168.1.1", True),
        ("::1", 80, "[::1]:80", True),
        ("::1", 80, "::1", True),
        ("example.org", 80, "", False),
    ],
)
def test_no_proxy_entries(host: str, port: int, no_proxy: str, bypass: bool) -> None:
    assert bypasses_proxy(host, port, no_proxy) is bypass
