"""Loopback HTTP servers for tests: a reusable base and a small web site for ``fetch_url``.

:class:`FakeHTTPServer` runs a stdlib ``ThreadingHTTPServer`` on ``127.0.0.1`` in a thread,
records every request and delegates to :meth:`FakeHTTPServer.handle`. Subclasses implement the
routes. Use them as context managers (or call :meth:`start` / :meth:`stop`).
"""

from __future__ import annotations

import json
import sys
import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedRequest:
    """One request as the server saw it (header names lower-cased)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body or b"null")


@dataclass(slots=True, kw_only=True)
class Response:
    """What a route answers."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
        """A JSON response."""
        return cls(
            status=status,
            body=json.dumps(data).encode(),
            headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
        )

    @classmethod
    def text(cls, text: str, *, content_type: str = "text/plain; charset=utf-8", status: int = 200) -> Response:
        """A text response."""
        return cls(status=status, body=text.encode(), headers={"Content-Type": content_type})


class FakeHTTPServer:
    """A threaded HTTP server on 127.0.0.1 with a random free port."""

    def __init__(self, *, host: str = "127.0.0.1") -> None:
        self.requests: list[RecordedRequest] = []
        self.lock = threading.Lock()
        self._server = _QuietServer((host, 0), _make_handler(self._dispatch))
        self._thread = threading.Thread(target=self._serve, name=type(self).__name__, daemon=True)

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``http://127.0.0.1:41234``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def _serve(self) -> None:
        # A short poll interval keeps shutdown (and so every test's teardown) fast.
        self._server.serve_forever(poll_interval=0.02)

    def start(self) -> Self:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def handle(self, request: RecordedRequest) -> Response:
        """Answer one request. Subclasses override this."""
        return Response.json({"message": "Not Found"}, status=404)

    def _dispatch(self, request: RecordedRequest) -> Response:
        with self.lock:
            self.requests.append(request)
        try:
            return self.handle(request)
        except Exception:  # a bug in a fake must show up as a 500, not kill the thread
            return Response.text(traceback.format_exc(), status=500)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up early (size limits, keep-alive closed) are expected, not errors.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def _make_handler(dispatch: Callable[[RecordedRequest], Response]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = RecordedRequest(
                method=self.command,
                path=parts.path,
                query={key: values[0] for key, values in parse_qs(parts.query).items()},
                headers={key.lower(): value for key, value in self.headers.items()},
                body=body,
            )
            response = dispatch(request)
            self.send_response(response.status)
            for key, value in response.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                try:
                    self.wfile.write(response.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading (size limit); that is the point of some tests

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _serve

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


HTML_PAGE = """<!doctype html>
<html><head><title>Kwaak docs</title>
<style>body { color: red; }</style>
<script>console.log("tracking");</script>
</head>
<body>
<h1>Installing kwaak</h1>
<p>Run <code>pip install kwaak</code> and then <a href="/next">read the next page</a>.</p>
<img src="/logo.png" alt="logo">
<video src="/intro.mp4"></video>
<ul><li>fast</li><li>parallel</li></ul>
</body></html>
"""

PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4


class FakeWebServer(FakeHTTPServer):
    """A small web site: HTML, redirects, a huge page, JSON, plain text, binary and errors.

    Routes: ``/page.html``, ``/redirect`` (302 → ``/page.html``), ``/redirect-loop``, ``/huge``
    (``huge_bytes`` of HTML), ``/data.json``, ``/plain.txt``, ``/image.png``, ``/binary`` (no
    content type), ``/missing`` (404), ``/error`` (500). :meth:`add` registers more.
    """

    def __init__(self, *, huge_bytes: int = 5 * 1024 * 1024, host: str = "127.0.0.1") -> None:
        super().__init__(host=host)
        paragraph = "<p>" + "kwaak " * 100 + "</p>\n"
        huge = "<html><body><h1>Huge</h1>" + paragraph * (huge_bytes // len(paragraph) + 1) + "</body></html>"
        self.routes: dict[str, Response] = {
            "/page.html": Response.text(HTML_PAGE, content_type="text/html; charset=utf-8"),
            "/redirect": Response(status=302, headers={"Location": "/page.html"}),
            "/redirect-loop": Response(status=302, headers={"Location": "/redirect-loop"}),
            "/huge": Response.text(huge, content_type="text/html"),
            "/data.json": Response.json({"name": "kwaak", "agents": 3}),
            "/plain.txt": Response.text("just some text\nover two lines\n"),
            "/image.png": Response(body=PNG_BYTES, headers={"Content-Type": "image/png"}),
            "/binary": Response(body=b"\x00\x01\x02\xff" * 64),
            "/missing": Response.text("nothing here", status=404),
            "/error": Response.text("boom", status=500),
        }

    def add(self, path: str, response: Response) -> None:
        """Serve ``response`` at ``path``."""
        with self.lock:
            self.routes[path] = response

    def handle(self, request: RecordedRequest) -> Response:
        with self.lock:
            response = self.routes.get(request.path)
        return response or Response.text("not found", status=404)
