"""Web tools: ``search_web`` (Tavily) and ``fetch_url`` (a page as markdown).

Both run on the host, not in the agent's executor, as in kwaak 0.16.2; ``fetch_url`` therefore
follows the agent's network policy itself (:mod:`kwaak.tools.netguard`). It reads at
most :data:`MAX_FETCH_BYTES`, refuses binary content, converts HTML to markdown (dropping scripts,
styles and media) and truncates long output with a visible marker.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kwaak import __version__
from kwaak.tools.base import Tool, ToolContext, ToolError, string_params
from kwaak.tools.netguard import NetworkPolicy, pinned_request
from kwaak.tools.templates import render

if TYPE_CHECKING:
    import httpx  # imported where used: ~50 ms that an agent without web tool calls never pays

    from kwaak.config import Config

MAX_FETCH_BYTES = 2 * 1024 * 1024
FETCH_TIMEOUT_SEC = 20.0
MAX_REDIRECTS = 10
SEARCH_TIMEOUT_SEC = 60.0
CONNECT_TIMEOUT_SEC = 10.0
MIN_SEARCH_SCORE = 0.5
DROPPED_TAGS = ("script", "style", "img", "video", "audio", "embed", "noscript", "svg", "canvas")
_USER_AGENT = f"Mozilla/5.0 (compatible; kwaak-py/{__version__})"
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_TEXT_TYPES = ("application/json", "application/xml", "application/javascript", "application/x-yaml")
_TEXT_SUFFIXES = ("+json", "+xml", "+yaml")


# ---------------------------------------------------------------------------- search_web


async def tavily_search(config: Config, query: str, *, transport: httpx.AsyncBaseTransport | None = None) -> str:
    """Search the web with Tavily and render the answer and relevant results as markdown.

    Raises:
        ToolError: no API key, or the search failed.
    """
    if config.tavily_api_key is None:
        msg = "Web search is not configured: set `tavily_api_key` in kwaak.toml."
        raise ToolError(msg)
    payload = {
        "query": query,
        "search_depth": "advanced",
        "include_answer": True,
        "include_images": False,
        "include_raw_content": False,
        "max_results": 5,
    }
    headers = {"Authorization": f"Bearer {config.tavily_api_key.reveal()}", "User-Agent": _USER_AGENT}
    url = config.tavily.base_url.rstrip("/") + "/search"
    import httpx

    try:
        timeout = httpx.Timeout(SEARCH_TIMEOUT_SEC, connect=CONNECT_TIMEOUT_SEC)
        async with httpx.AsyncClient(timeout=timeout, transport=transport) as client:
            response = await client.post(url, json=payload, headers=headers)
    except httpx.HTTPError as exc:
        msg = f"Web search failed: {_describe_http_error(exc)}"
        raise ToolError(msg) from exc
    if response.status_code == 401:
        msg = "Web search failed: Tavily rejected the API key (401); check `tavily_api_key`."
        raise ToolError(msg)
    if not response.is_success:
        msg = f"Web search failed: Tavily answered {response.status_code} {response.reason_phrase}"
        raise ToolError(msg)
    try:
        data = response.json()
    except ValueError as exc:
        msg = "Web search failed: Tavily returned invalid JSON"
        raise ToolError(msg) from exc
    return render_search_results(data if isinstance(data, dict) else {})


def render_search_results(data: Mapping[str, Any]) -> str:
    """Render a Tavily response: the answer and "## Relevant urls", or the results separated by ``---``."""
    results = [
        {"title": str(r.get("title") or r.get("url") or ""), "url": str(r.get("url") or ""), "content": _content(r)}
        for r in data.get("results") or []
        if isinstance(r, dict) and float(r.get("score") or 0) >= MIN_SEARCH_SCORE
    ]
    questions = [str(q) for q in data.get("follow_up_questions") or [] if q]
    return render(
        "tavily_search_results.md.j2",
        answer=str(data.get("answer") or "").strip(),
        results=results,
        follow_up_questions=questions,
    )


def _content(result: Mapping[str, Any]) -> str:
    return str(result.get("content") or "").strip()


async def _search_web(ctx: ToolContext, args: dict[str, Any]) -> str:
    query = str(args.get("query") or "").strip()
    if not query:
        msg = "The search `query` must not be empty."
        raise ToolError(msg)
    ctx.activity(f"Searching the web for {query!r}")
    return await tavily_search(ctx.config, query, transport=_transport(ctx))


def search_web_tool() -> Tool:
    """The ``search_web`` tool (needs ``tavily_api_key``)."""
    return Tool(
        name="search_web",
        description=(
            "Search the web to answer a question. Use this when you need information that is not in "
            "the project, such as documentation of a library, an error message or a recent change."
        ),
        handler=_search_web,
        parameters=string_params(("query", "The question or search query")),
        mutating=False,
        summarize=lambda args: f"searching the web for `{args['query']}`",
    )


# ---------------------------------------------------------------------------- fetch_url


async def fetch_url(
    url: str,
    *,
    max_chars: int = 40_000,
    max_bytes: int = MAX_FETCH_BYTES,
    transport: httpx.AsyncBaseTransport | None = None,
    policy: NetworkPolicy | None = None,
) -> str:
    """GET ``url`` (following redirects) and return it as markdown (HTML) or text.

    Every hop is checked against ``policy`` (default: network on, public addresses only) and
    connects to the address that was checked (see :mod:`kwaak.tools.netguard`).

    Raises:
        ToolError: a bad URL, a refused address, a network error, a non-2xx status
            ("Failed to fetch url: <status>") or binary content.
    """
    if not re.match(r"(?i)^https?://", url):
        msg = f"Failed to fetch url: {url!r} is not an http(s) URL"
        raise ToolError(msg)
    policy = policy or NetworkPolicy()
    import httpx

    timeout = httpx.Timeout(FETCH_TIMEOUT_SEC, connect=CONNECT_TIMEOUT_SEC)
    try:
        async with httpx.AsyncClient(
            follow_redirects=False, timeout=timeout, headers={"User-Agent": _USER_AGENT}, transport=transport
        ) as client:
            response = await _follow(client, httpx.URL(url), policy)
            try:
                if not response.is_success:
                    msg = f"Failed to fetch url: {response.status_code} {response.reason_phrase}".rstrip()
                    raise ToolError(msg)
                content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
                _refuse_binary_type(content_type, response)
                raw, cut = await _read_limited(response, max_bytes)
                encoding = response.charset_encoding or "utf-8"
            finally:
                await response.aclose()
    except httpx.HTTPError as exc:
        msg = f"Failed to fetch url: {_describe_http_error(exc)}"
        raise ToolError(msg) from exc
    text = await asyncio.to_thread(_to_text, raw, content_type, encoding, url)
    if cut:
        text += f"\n\n[... the page is larger than {max_bytes // 1024} KiB; only the start was read]"
    return truncate(text, max_chars)


async def _follow(client: httpx.AsyncClient, url: httpx.URL, policy: NetworkPolicy) -> httpx.Response:
    """Send the GET, following up to :data:`MAX_REDIRECTS` redirects, each hop checked and pinned."""
    import httpx

    for _ in range(MAX_REDIRECTS + 1):
        request = await pinned_request(client, url, policy)
        response = await client.send(request, stream=True)
        location = response.headers.get("location")
        if not (response.is_redirect and location):
            return response
        await response.aclose()
        url = url.join(location)
    raise httpx.TooManyRedirects("too many redirects", request=request)


async def _read_limited(response: httpx.Response, max_bytes: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return b"".join(chunks)[:max_bytes], True
    return b"".join(chunks), False


def _refuse_binary_type(content_type: str, response: httpx.Response) -> None:
    major = content_type.split("/")[0]
    if not content_type or major == "text" or content_type in _TEXT_TYPES or content_type.endswith(_TEXT_SUFFIXES):
        return
    size = response.headers.get("content-length")
    shown = f"{content_type}, {size} bytes" if size else content_type
    msg = f"Failed to fetch url: the content is binary ({shown}) and cannot be shown as text"
    raise ToolError(msg)


def _to_text(raw: bytes, content_type: str, encoding: str, url: str) -> str:
    if b"\x00" in raw[:8192]:
        msg = f"Failed to fetch url: {url} returned binary content that cannot be shown as text"
        raise ToolError(msg)
    try:
        text = raw.decode(encoding, errors="replace")
    except LookupError:
        text = raw.decode("utf-8", errors="replace")
    looks_html = content_type in _HTML_TYPES or (
        not content_type and re.match(r"\s*(<!doctype html|<html)", text[:512], re.IGNORECASE) is not None
    )
    return html_to_markdown(text) if looks_html else text


def html_to_markdown(html: str) -> str:
    """Convert HTML to markdown, dropping scripts, styles and media; the raw HTML if conversion fails."""
    from bs4 import BeautifulSoup
    from markdownify import MarkdownConverter

    try:
        soup = BeautifulSoup(html, "html.parser")
        for tag in soup(list(DROPPED_TAGS)):
            tag.decompose()
        markdown = str(MarkdownConverter(heading_style="ATX", bullets="-").convert_soup(soup))
    except Exception:  # markdownify/bs4 failing on odd markup: kwaak returns the raw text then
        return html
    return re.sub(r"\n{3,}", "\n\n", markdown).strip() + "\n"


def truncate(text: str, max_chars: int) -> str:
    """Cut ``text`` to ``max_chars`` characters with a marker saying how much was left out."""
    if len(text) <= max_chars:
        return text
    return text[:max_chars] + f"\n\n[... output truncated: showing {max_chars} of {len(text)} characters]"


def _describe_http_error(exc: httpx.HTTPError) -> str:
    import httpx

    if isinstance(exc, httpx.TooManyRedirects):
        return f"too many redirects (more than {MAX_REDIRECTS})"
    if isinstance(exc, httpx.TimeoutException):
        return "the request timed out"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect ({exc})" if str(exc) else "cannot connect"
    return str(exc) or type(exc).__name__


def _transport(ctx: ToolContext) -> httpx.AsyncBaseTransport | None:
    import httpx

    transport = ctx.services.get("http_transport")
    return transport if isinstance(transport, httpx.AsyncBaseTransport) else None


async def _fetch_url(ctx: ToolContext, args: dict[str, Any]) -> str:
    url = str(args.get("url") or "").strip()
    # The fetch runs on the host: it follows the agent's network policy (see kwaak.tools.netguard).
    policy = NetworkPolicy.of(bool(getattr(ctx.executor, "network", True)), ctx.config.web.allow_private_networks)
    ctx.activity(f"Fetching {url}")
    return await fetch_url(
        url, max_chars=ctx.config.limits.max_tool_output_chars, transport=_transport(ctx), policy=policy
    )


def fetch_url_tool() -> Tool:
    """The ``fetch_url`` tool: a web page as markdown (fetched from the host)."""
    return Tool(
        name="fetch_url",
        description=(
            "Fetch a url and return its content as markdown. Use it to read documentation, issues or "
            "any other web page. HTML is converted to markdown; other text is returned as is."
        ),
        handler=_fetch_url,
        parameters=string_params(("url", "The http(s) url to fetch")),
        mutating=False,
        summarize=lambda args: f"fetching `{args['url']}`",
    )
