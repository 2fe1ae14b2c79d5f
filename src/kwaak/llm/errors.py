"""Translate provider and transport failures into :mod:`kwaak.errors`.

``map_provider_error(exc, provider=...)`` is the one place that knows the exception types of
kwaak's provider HTTP client (:mod:`kwaak.llm.http_errors`: ``HTTPStatusError``,
``StreamErrorEvent``, ``ConnectError``, timeouts, protocol errors); no SDK is used. Mapping, by
HTTP status and body:

* 401, 403 → :class:`~kwaak.errors.AuthError`
* 429 → :class:`~kwaak.errors.RateLimited` (``retry_after`` from the ``retry-after`` header)
* 400 mentioning the context window → :class:`~kwaak.errors.ContextTooLong`
* 408, 409, 5xx, 529, connection errors, timeouts, truncated streams, invalid JSON →
  :class:`~kwaak.errors.Transient`
* connection refused, unknown host and TLS failures on a configured ``base_url`` →
  :class:`~kwaak.errors.Unreachable` (not retried: a local server that is down fails in a second,
  with a hint naming the URL)
* any other 4xx → :class:`~kwaak.errors.BadRequest`

``provider`` is the label messages use: :func:`endpoint_label` makes it the ``base_url`` when one
is configured (never "OpenAI" for a local server). The mapped error remembers it as ``endpoint``.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import time
from collections.abc import Iterator, Mapping

from kwaak.errors import AuthError, BadRequest, ContextTooLong, ProviderError, RateLimited, Transient, Unreachable
from kwaak.llm.http_errors import BadResponse, HTTPError, Redirected, StreamErrorEvent

_CONTEXT_PATTERNS = re.compile(
    r"context[_ ]length|context window|maximum context|prompt is too long|too many tokens|"
    r"reduce the length|input is too long|exceeds the maximum|exceeds the available context size|"
    r"larger than the max context size|exceed_context_size",
    re.IGNORECASE,
)
_TRANSIENT_STATUS = frozenset({408, 409, 425, 500, 502, 503, 504, 520, 522, 524, 529})
# Error types sent inside a stream (HTTP 200 already sent) mapped to the status they stand for.
_ERROR_TYPE_STATUS = {
    "overloaded_error": 529,
    "api_error": 500,
    "server_error": 500,
    "timeout_error": 504,
    "rate_limit_error": 429,
    "rate_limit_exceeded": 429,
    "tokens": 429,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "invalid_request_error": 400,
    "exceed_context_size_error": 400,
}
_CONTEXT_CODES = frozenset({"context_length_exceeded", "exceed_context_size_error", "string_above_max_length"})


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``retry-after`` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    import email.utils  # only for an HTTP-date retry-after (rare; importing email costs milliseconds)

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _retry_after(headers: Mapping[str, str]) -> float | None:
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    return parse_retry_after(headers.get("retry-after"))


def error_detail(body: object, fallback: str = "") -> str:
    """The human message inside a provider's JSON error body."""
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping) and isinstance(inner.get("message"), str):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
        if isinstance(body.get("message"), str):
            return str(body["message"])
    if isinstance(body, str) and body:
        return body
    return fallback


def from_status(
    status: int,
    detail: str,
    *,
    provider: str,
    headers: Mapping[str, str] | None = None,
    code: str | None = None,
) -> ProviderError:
    """Build the kwaak error for an HTTP error response."""
    where = f"{provider} returned HTTP {status}: {detail}".rstrip(": ")
    if status in (401, 403):
        return AuthError(where, hint=f"check the {provider} API key (and its permissions) in kwaak.toml")
    if status == 429:
        return RateLimited(
            where,
            hint="the provider is rate limiting; wait, run fewer agents in parallel, or raise your quota",
            retry_after=_retry_after(headers or {}),
        )
    if status in (400, 413, 422) and (code in _CONTEXT_CODES or _CONTEXT_PATTERNS.search(detail)):
        hint = "the conversation no longer fits the model's context window; kwaak compacts it and retries once"
        window, prompt = _context_numbers(detail)
        return ContextTooLong(f"context window exceeded: {where}", hint=hint, window=window, prompt_tokens=prompt)
    if status in _TRANSIENT_STATUS or status >= 500:
        return Transient(where, hint="the provider had a temporary problem; kwaak retried with backoff; try later")
    if status == 404:
        return BadRequest(where, hint="check `prompt_model`/`embedding_model`, `base_url` and (Azure) `deployment_id`")
    return BadRequest(where, hint="the provider rejected the request; see the message for which field is wrong")


def endpoint_label(provider: str, base_url: str | None) -> str:
    """How messages name an endpoint: the configured ``base_url``, else the provider's name."""
    return base_url.rstrip("/") if base_url else provider


def map_provider_error(exc: BaseException, *, provider: str) -> ProviderError | None:
    """Translate an HTTP/transport exception to a :class:`ProviderError`; ``None`` when it is not one.

    Args:
        exc: the exception raised while talking to the provider.
        provider: the endpoint's label for messages (see :func:`endpoint_label`).
    """
    mapped = _map(exc, provider=provider)
    if mapped is not None and mapped.endpoint is None:
        mapped.endpoint = provider
    return mapped


def _map(exc: BaseException, *, provider: str) -> ProviderError | None:
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, Redirected):
        return BadRequest(
            f"{provider} answered with a redirect (HTTP {exc.status_code}) to {exc.location or 'nowhere'}",
            hint="set `base_url` to the final URL: kwaak does not follow redirects with your API key",
        )
    body = getattr(exc, "body", None)
    status = getattr(exc, "status_code", None)
    if (not isinstance(status, int) or status < 400) and isinstance(exc, StreamErrorEvent):
        # An error event inside a stream: HTTP 200 was already sent, the body says what failed.
        status = _status_from_body(body)
    if isinstance(status, int) and status >= 400:
        code = _error_code(body)
        headers = {k.lower(): v for k, v in (getattr(exc, "headers", None) or {}).items()}
        return from_status(
            status,
            error_detail(body, str(exc)),
            provider=provider,
            headers=headers,
            code=code if isinstance(code, str) else None,
        )
    return _map_transport(exc, provider=provider)


_WINDOW_NUMBERS = (
    # OpenAI: "maximum context length is 128000 tokens. However, your messages resulted in 200000 tokens"
    re.compile(r"maximum context length is (?P<window>\d+) tokens.*?resulted in (?P<prompt>\d+) tokens", re.S),
    # Anthropic: "prompt is too long: 210000 tokens > 200000 maximum"
    re.compile(r"(?P<prompt>\d+) tokens > (?P<window>\d+) maximum"),
    # llama.cpp: "request (9000 tokens) exceeds the available context size (8192 tokens)"
    re.compile(
        r"\((?P<prompt>\d+) tokens\) (?:exceeds the available|is larger than the max) "
        r"context size \((?P<window>\d+) tokens\)"
    ),
)


def _context_numbers(detail: str) -> tuple[int | None, int | None]:
    """The window and prompt size an overflow error names, when it does."""
    for pattern in _WINDOW_NUMBERS:
        match = pattern.search(detail)
        if match:
            return int(match["window"]), int(match["prompt"])
    return None, None


def _error_code(body: object) -> str | None:
    """``code`` (OpenAI) or ``type`` (llama.cpp's ``exceed_context_size_error``) of an error body."""
    if not isinstance(body, Mapping):
        return None
    inner = body.get("error", body)
    inner = inner if isinstance(inner, Mapping) else body
    for key in ("code", "type"):
        value = inner.get(key)
        if isinstance(value, str) and value in _CONTEXT_CODES:
            return value
    code = inner.get("code")
    return code if isinstance(code, str) else None


def _status_from_body(body: object) -> int | None:
    if not isinstance(body, Mapping):
        return None
    inner = body.get("error", body)
    kind = inner.get("type") if isinstance(inner, Mapping) else None
    if isinstance(kind, str):
        return _ERROR_TYPE_STATUS.get(kind, 500)
    return 500 if "message" in body or "error" in body else None


def _map_transport(exc: BaseException, *, provider: str) -> ProviderError | None:
    name = type(exc).__name__
    hint = "check your network and the provider's status; kwaak retried with backoff"
    if "Timeout" in name:
        return Transient(f"{provider} did not answer in time ({name})", hint=hint)
    if isinstance(exc, UnicodeDecodeError):  # before ValueError-based checks: it is one too
        where = f"byte {exc.start} of its response"
        return Transient(f"{provider} sent text that is not valid UTF-8 ({where})", hint=hint)
    if isinstance(exc, json.JSONDecodeError):
        return Transient(f"{provider} sent a response that is not valid JSON: {exc}", hint=hint)
    if isinstance(exc, BadResponse):
        return Transient(f"{provider} sent an unexpected response: {exc}", hint=hint)
    unreachable = _unreachable_reason(exc) if provider.startswith(("http://", "https://")) else None
    if unreachable is not None:
        return Unreachable(
            f"cannot connect to {provider}: {unreachable}",
            hint=f"is the server at `base_url` {provider} running and reachable? (check `base_url` in kwaak.toml)",
        )
    if isinstance(exc, HTTPError):
        return Transient(f"connection to {provider} failed: {exc}", hint=hint)
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


_REFUSED = ("connection refused", "connect call failed", "errno 111", "errno 61")
_NO_HOST = (
    "name or service not known",
    "nodename nor servname",
    "temporary failure in name resolution",
    "getaddrinfo failed",
    "no address associated",
)
_TLS = ("certificate verify failed", "ssl:", "wrong version number", "tlsv1", "sslerror")


def _unreachable_reason(exc: BaseException) -> str | None:
    """Why a connection could not be made at all (``None`` for timeouts, resets and the like)."""
    chain = list(_chain(exc))
    if not any("Connect" in type(e).__name__ or isinstance(e, OSError) for e in chain):
        return None
    for error in chain:
        text = str(error).lower()
        if isinstance(error, ConnectionRefusedError) or any(s in text for s in _REFUSED):
            return "connection refused"
        if isinstance(error, socket.gaierror) or any(s in text for s in _NO_HOST):
            return "unknown host name"
        ssl = sys.modules.get("ssl")  # loaded whenever a TLS error can exist
        if (ssl is not None and isinstance(error, ssl.SSLError)) or any(s in text for s in _TLS):
            return f"TLS error ({str(error).strip() or type(error).__name__})"
    return None
