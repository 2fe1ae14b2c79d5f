"""``fetch_url`` and ``search_web`` through the tool registry, against loopback servers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kwaak.config import Config
from kwaak.executors.local import LocalExecutor
from kwaak.messages import ToolCall, ToolResult
from kwaak.tools.base import ToolContext, ToolRegistry
from kwaak.tools.netguard import NetworkPolicy
from kwaak.tools.web import fetch_url, fetch_url_tool, render_search_results, search_web_tool
from tests.fakes.tavily_server import FakeTavily
from tests.fakes.web_server import FakeWebServer, Response
from tests.github.conftest import TAVILY_KEY

LOOPBACK = "127.0.0.1/32"
LOCAL_OK = NetworkPolicy.of(True, [LOOPBACK])


@pytest.fixture
def registry() -> ToolRegistry:
    return ToolRegistry([fetch_url_tool(), search_web_tool()])


@pytest.fixture
def ctx(github_config: Callable[..., Config], tmp_git_repo: Path) -> ToolContext:
    # The fake site listens on 127.0.0.1, which fetch_url refuses unless allow-listed (tests/security has the attacks).
    config = github_config(web={"allow_private_networks": [LOOPBACK]})
    return ToolContext(session_id="s1", config=config, executor=LocalExecutor(tmp_git_repo))


async def call(registry: ToolRegistry, ctx: ToolContext, name: str, arguments: str) -> ToolResult:
    return await registry.invoke(ToolCall(id="c1", name=name, arguments=arguments), ctx)


async def fetch(registry: ToolRegistry, ctx: ToolContext, url: str) -> ToolResult:
    return await call(registry, ctx, "fetch_url", f'{{"url": "{url}"}}')


# ---------------------------------------------------------------------------- fetch_url


async def test_html_becomes_markdown_without_scripts_styles_or_media(
    registry: ToolRegistry, ctx: ToolContext, fake_web: FakeWebServer
) -> None:
    result = await fetch(registry, ctx, f"{fake_web.url}/page.html")
    assert not result.is_error
    assert result.content == (
        "Kwaak docs\n\n"
        "# Installing kwaak\n\n"
        "Run `pip install kwaak` and then [read the next page](/next).\n\n"
        "- fast\n- parallel\n"
    )


async def test_redirect_is_followed(registry: ToolRegistry, ctx: ToolContext, fake_web: FakeWebServer) -> None:
    result = await fetch(registry, ctx, f"{fake_web.url}/redirect")
    assert "# Installing kwaak" in result.content
    assert [r.path for r in fake_web.requests] == ["/redirect", "/page.html"]


async def test_redirect_loop_fails_clearly(registry: ToolRegistry, ctx: ToolContext, fake_web: FakeWebServer) -> None:
    result = await fetch(registry, ctx, f"{fake_web.url}/redirect-loop")
    assert (result.is_error, result.content) == (True, "Failed to fetch url: too many redirects (more than 10)")


async def test_huge_page_is_read_partially_and_truncated(fake_web: FakeWebServer) -> None:
    text = await fetch_url(f"{fake_web.url}/huge", max_chars=5000, max_bytes=256 * 1024, policy=LOCAL_OK)
    assert text.startswith("# Huge\n\nkwaak kwaak")
    assert text.endswith("characters]")
    body, marker = text.rsplit("\n\n[... output truncated: showing 5000 of ", 1)
    assert len(body) == 5000
    total = int(marker.split(" ")[0])
    # Only the first 256 KiB of the 5 MiB page were read, so the converted text is about that size.
    assert 200_000 < total < 270_000
    assert "only the start was read" not in body


async def test_huge_page_through_the_tool_respects_the_output_limit(
    registry: ToolRegistry, ctx: ToolContext, fake_web: FakeWebServer
) -> None:
    result = await fetch(registry, ctx, f"{fake_web.url}/huge")
    limit = ctx.config.limits.max_tool_output_chars
    assert len(result.content) < limit + 100
    assert result.content.endswith("characters]")


async def test_read_limit_marker_when_output_fits(fake_web: FakeWebServer) -> None:
    fake_web.add("/long.txt", Response.text("x" * 10_000))
    text = await fetch_url(f"{fake_web.url}/long.txt", max_bytes=1024, policy=LOCAL_OK)
    assert text == "x" * 1024 + "\n\n[... the page is larger than 1 KiB; only the start was read]"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/data.json", '{"name": "kwaak", "agents": 3}'),
        ("/plain.txt", "just some text\nover two lines\n"),
    ],
)
async def test_non_html_text_is_returned_as_is(
    registry: ToolRegistry, ctx: ToolContext, fake_web: FakeWebServer, path: str, expected: str
) -> None:
    result = await fetch(registry, ctx, f"{fake_web.url}{path}")
    assert (result.is_error, result.content) == (False, expected)


async def test_binary_content_is_refused(registry: ToolRegistry, ctx: ToolContext, fake_web: FakeWebServer) -> None:
    image = await fetch(registry, ctx, f"{fake_web.url}/image.png")
    assert image.is_error
    assert image.content.startswith("Failed to fetch url: the content is binary (image/png, ")
    untyped = await fetch(registry, ctx, f"{fake_web.url}/binary")
    assert untyped.is_error
    assert "binary content that cannot be shown as text" in untyped.content


@pytest.mark.parametrize(("path", "status"), [("/missing", "404 Not Found"), ("/error", "500 Internal Server Error")])
async def test_http_errors(
    registry: ToolRegistry, ctx: ToolContext, fake_web: FakeWebServer, path: str, status: str
) -> None:
    result = await fetch(registry, ctx, f"{fake_web.url}{path}")
    assert (result.is_error, result.content) == (True, f"Failed to fetch url: {status}")


async def test_connection_refused(registry: ToolRegistry, ctx: ToolContext, unused_tcp_port: int) -> None:
    result = await fetch(registry, ctx, f"http://127.0.0.1:{unused_tcp_port}/")
    assert result.is_error
    assert result.content.startswith("Failed to fetch url: cannot connect (")


async def test_non_http_urls_are_refused(registry: ToolRegistry, ctx: ToolContext) -> None:
    result = await fetch(registry, ctx, "file:///etc/passwd")
    assert (result.is_error, result.content) == (
        True,
        "Failed to fetch url: 'file:///etc/passwd' is not an http(s) URL",
    )


# ---------------------------------------------------------------------------- search_web


async def test_search_with_answer_lists_relevant_urls(
    registry: ToolRegistry, ctx: ToolContext, fake_tavily: FakeTavily
) -> None:
    result = await call(registry, ctx, "search_web", '{"query": "what is kwaak"}')
    assert not result.is_error
    assert result.content == (
        "Kwaak is a terminal tool that runs AI coding agents.\n\n"
        "## Relevant urls\n\n"
        "- [Kwaak on GitHub](https://github.com/bosun-ai/kwaak)\n"
        "- [Kwaak docs](https://docs.example.com/kwaak)\n"
    )
    [request] = fake_tavily.requests
    assert request.headers["authorization"] == f"Bearer {TAVILY_KEY}"
    assert request.json() == {
        "query": "what is kwaak",
        "search_depth": "advanced",
        "include_answer": True,
        "include_images": False,
        "include_raw_content": False,
        "max_results": 5,
    }


async def test_search_without_answer_shows_results_and_follow_ups(
    registry: ToolRegistry, ctx: ToolContext, fake_tavily: FakeTavily
) -> None:
    fake_tavily.answer = None
    fake_tavily.follow_up_questions = ["How do I install kwaak?", "Does it support Ollama?"]
    result = await call(registry, ctx, "search_web", '{"query": "kwaak"}')
    assert result.content == (
        "## Kwaak on GitHub\nhttps://github.com/bosun-ai/kwaak\n\n"
        "Run a team of autonomous agents on your code.\n\n---\n\n"
        "## Kwaak docs\nhttps://docs.example.com/kwaak\n\n"
        "How to configure kwaak.toml.\n\n---\n\n"
        "## Follow up questions\n\n"
        "- How do I install kwaak?\n"
        "- Does it support Ollama?\n"
    )


def test_search_with_no_relevant_results() -> None:
    low = {"results": [{"title": "t", "url": "u", "content": "c", "score": 0.1}], "answer": None}
    assert render_search_results(low) == "No results found.\n"


async def test_search_with_bad_key(
    registry: ToolRegistry, github_config: Callable[..., Config], tmp_git_repo: Path, fake_tavily: FakeTavily
) -> None:
    bad = ToolContext(
        session_id="s", config=github_config(tavily_api_key="text:nope"), executor=LocalExecutor(tmp_git_repo)
    )
    result = await call(registry, bad, "search_web", '{"query": "x"}')
    assert (result.is_error, result.content) == (
        True,
        "Web search failed: Tavily rejected the API key (401); check `tavily_api_key`.",
    )


async def test_search_server_error(registry: ToolRegistry, ctx: ToolContext, fake_tavily: FakeTavily) -> None:
    fake_tavily.status = 502
    result = await call(registry, ctx, "search_web", '{"query": "x"}')
    assert (result.is_error, result.content) == (True, "Web search failed: Tavily answered 502 Bad Gateway")
