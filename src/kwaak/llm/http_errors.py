"""Exceptions of the provider HTTP client (:mod:`kwaak.llm.http`); :mod:`kwaak.llm.errors` maps them."""

from __future__ import annotations

import json
from collections.abc import Mapping


class HTTPError(Exception):
    """The exchange failed below HTTP semantics (connection, protocol, limits)."""


class ConnectError(HTTPError):
    """No connection could be made; ``__cause__`` is the ``OSError``/``ssl.SSLError``."""


class HTTPTimeout(HTTPError):
    """A connect or read timeout."""


class ConnectTimeout(HTTPTimeout):
    """Connecting took too long."""


class ReadTimeout(HTTPTimeout):
    """The server sent nothing for ``timeout`` seconds."""


class ProtocolError(HTTPError):
    """The server broke HTTP, closed the connection early, or sent more than a limit allows."""


class BadResponse(HTTPError):
    """A well-formed HTTP response whose JSON is not what the API promises."""


class Redirected(Exception):
    """A 3xx answer: kwaak does not follow redirects (the key would go to wherever they point)."""

    def __init__(self, status_code: int, location: str) -> None:
        self.status_code = status_code
        self.location = location
        super().__init__(f"HTTP {status_code} redirect to {location or '(no Location)'}")


class HTTPStatusError(Exception):
    """An HTTP error response (status >= 400) with its parsed body and headers."""

    def __init__(self, status_code: int, body: object, headers: Mapping[str, str]) -> None:
        self.status_code = status_code
        self.body = body
        self.headers = dict(headers)
        detail = body if isinstance(body, str) else json.dumps(body)[:500]
        super().__init__(f"HTTP {status_code}: {detail}")


class StreamErrorEvent(Exception):
    """An error sent inside a stream after HTTP 200 (OpenAI ``data: {"error": ...}``, Anthropic ``event: error``)."""

    def __init__(self, body: object) -> None:
        self.body = body
        self.status_code: int | None = None
        super().__init__(json.dumps(body)[:500])
