"""One MCP server connection, owned by a runner task for its whole life.

The SDK's client is built on anyio task groups and cancel scopes, which must be entered and exited
by the same task. So each server gets one runner task that enters the client, lists the tools,
reports them through a future, then waits until it is told to close. Tool calls from any task go
through the client's session, which multiplexes concurrent requests.

Stdio servers run on the host (like kwaak), in their own process group, with a minimal
environment: the SDK's safe defaults (``HOME``, ``PATH``, ``USER``...), locale/proxy/TLS variables,
and the secrets configured in ``env`` — never kwaak's own API keys. Their stderr goes to an
unlinked temporary file (never to the terminal, which the TUI owns); its tail is quoted when the
server fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import math
import os
import tempfile
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import kwaak
from kwaak.errors import McpError

if TYPE_CHECKING:
    import anyio
    from mcp import Client
    from mcp_types import CallToolResult

    from kwaak.config.model import McpServerConfig

log = logging.getLogger(__name__)

PROTOCOL_MODE = "legacy"
"""The ``initialize`` handshake every MCP server speaks today (the SDK's ``auto`` probe costs a
round trip and hangs on servers that ignore unknown methods)."""
MAX_LIST_PAGES = 100
STDERR_TAIL_BYTES = 2000
EXTRA_INHERITED_ENV = (
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)
HTTP_TIMEOUT = 30.0
HTTP_READ_TIMEOUT = 300.0


@dataclass(frozen=True, slots=True, kw_only=True)
class McpToolInfo:
    """A tool as the server lists it."""

    name: str
    description: str
    input_schema: Mapping[str, Any]


class McpConnectionLost(Exception):
    """The server went away (crashed, closed the connection) during the session."""


class McpConnection:
    """A running connection to one MCP server."""

    def __init__(self, config: McpServerConfig, *, cwd: Path | None = None) -> None:
        self.config = config
        self.cwd = cwd
        self._client: Client | None = None
        self._ready: asyncio.Future[list[McpToolInfo]] | None = None
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._scope: anyio.CancelScope | None = None
        self._stderr: TextIO | None = None
        self.lost = False
        """True once the server went away mid-session."""
        self.loss_reported = False
        """Set by the toolset once the loss was reported to the user."""

    @property
    def name(self) -> str:
        """The server's configured name."""
        return self.config.name

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` was called."""
        return self._closing.is_set()

    @property
    def alive(self) -> bool:
        """Whether the connection is up and usable."""
        return self._client is not None and not self.lost

    async def start(self) -> list[McpToolInfo]:
        """Start the server, initialize, and list its tools (all pages) within ``timeout_sec``.

        Raises:
            McpError: the server could not be started, did not answer in time, or failed.
        """
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        self._task = asyncio.create_task(self._run(), name=f"mcp:{self.name}")
        try:
            return await asyncio.shield(self._ready)
        except asyncio.CancelledError:
            await self.aclose()
            raise

    async def call(self, tool: str, arguments: dict[str, Any], *, timeout: float) -> CallToolResult:
        """Call ``tool`` on the server.

        Raises:
            McpConnectionLost: the server is gone (now or before this call).
            TimeoutError: no answer within ``timeout`` seconds.
            mcp.MCPError: the server answered with a protocol error.
        """
        from mcp import MCPError
        from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT

        if self.closed:
            raise McpConnectionLost(f"MCP server `{self.name}` was shut down with its session")
        client = self._client
        if client is None or self.lost:
            raise McpConnectionLost(self._gone_message())
        try:
            return await client.call_tool(tool, arguments, read_timeout_seconds=timeout)
        except MCPError as exc:
            if exc.code == REQUEST_TIMEOUT:
                raise TimeoutError(exc.message) from exc
            if exc.code == CONNECTION_CLOSED and exc.message == "Connection closed":
                self.lost = True
                raise McpConnectionLost(self._gone_message()) from exc
            raise
        except (OSError, EOFError) as exc:
            self.lost = True
            raise McpConnectionLost(self._gone_message(exc)) from exc
        except Exception as exc:
            if _is_transport_error(exc):
                self.lost = True
                raise McpConnectionLost(self._gone_message(exc)) from exc
            raise

    async def aclose(self) -> None:
        """Stop the server and wait for the runner (stdio servers: stdin closed, then TERM/KILL)."""
        self._closing.set()
        task = self._task
        if task is not None and not task.done():
            if self._ready is not None and not self._ready.done() and self._scope is not None:
                self._scope.cancel()
            try:
                await asyncio.wait_for(asyncio.shield(task), 15)
            except TimeoutError:
                log.warning("MCP server %r did not shut down in time; cancelling its runner", self.name)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._ready is not None and self._ready.done() and not self._ready.cancelled():
            self._ready.exception()  # mark as retrieved
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def stderr_tail(self) -> str:
        """The last lines the server wrote to stderr (stdio servers only)."""
        if self._stderr is None:
            return ""
        try:
            fd = self._stderr.fileno()
            size = os.fstat(fd).st_size
            data = os.pread(fd, STDERR_TAIL_BYTES, max(0, size - STDERR_TAIL_BYTES))
        except (OSError, ValueError):
            return ""
        return data.decode("utf-8", errors="replace").strip()

    # -- runner -----------------------------------------------------------------------------

    async def _run(self) -> None:
        import anyio

        assert self._ready is not None
        if self._closing.is_set():
            self._ready.set_exception(self._startup_error(None))
            return
        try:
            with anyio.CancelScope(deadline=anyio.current_time() + self.config.timeout_sec) as scope:
                self._scope = scope
                async with AsyncExitStack() as stack:
                    client = await self._open(stack)
                    tools = await _list_all(client)
                    scope.deadline = math.inf
                    self._client = client
                    self._ready.set_result(tools)
                    await self._closing.wait()
            if not self._ready.done():
                self._ready.set_exception(self._startup_error(None, timed_out=not self._closing.is_set()))
        except Exception as exc:
            if not self._ready.done():
                cancelled = self._scope is not None and self._scope.cancel_called
                error = None if cancelled else _unwrap(exc)
                self._ready.set_exception(self._startup_error(error, timed_out=not self._closing.is_set()))
            else:
                log.debug("MCP server %r ended with an error: %r", self.name, exc)
        finally:
            self._client = None
            if not self._ready.done():  # the runner itself was cancelled: never leave start() waiting
                self._ready.set_exception(self._startup_error(None))

    async def _open(self, stack: AsyncExitStack) -> Client:
        from mcp import Client
        from mcp_types import Implementation

        info = Implementation(name="kwaak", version=kwaak.__version__)
        client = Client(await self._transport(stack), mode=PROTOCOL_MODE, client_info=info, cache=None)
        return await stack.enter_async_context(client)

    async def _transport(self, stack: AsyncExitStack) -> Any:
        if self.config.url:
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            headers = {key: secret.reveal() for key, secret in (self.config.headers or {}).items()}
            timeout = httpx2.Timeout(HTTP_TIMEOUT, read=HTTP_READ_TIMEOUT)
            # Building the client loads the TLS trust store (~0.1-0.2 s): keep it off the event loop.
            http = await asyncio.to_thread(httpx2.AsyncClient, headers=headers, timeout=timeout)
            stack.push_async_callback(http.aclose)
            return streamable_http_client(self.config.url, http_client=http)
        return self._stdio_transport()

    def _stdio_transport(self) -> Any:
        from mcp.client.stdio import StdioServerParameters, stdio_client

        if not self.config.command or not self.config.command.strip():
            msg = f"Empty command for mcp server `{self.name}`"
            raise McpError(msg, hint="set `command` (or `url`) in its [[mcp]] entry")
        self._stderr = _stderr_file()
        params = StdioServerParameters(
            command=self.config.command,
            args=list(self.config.args),
            env=server_environment(self.config),
            cwd=str(self.cwd) if self.cwd else None,
        )
        return stdio_client(params, errlog=self._stderr)

    # -- messages ---------------------------------------------------------------------------

    def _startup_error(self, exc: BaseException | None, *, timed_out: bool = False) -> McpError:
        where = f"`{self.config.command}`" if self.config.command else f"{self.config.url}"
        tail = self.stderr_tail()
        said = f"; its stderr said:\n{tail}" if tail else ""
        if isinstance(exc, McpError):
            return exc
        if exc is None and timed_out:
            msg = f"MCP server `{self.name}` ({where}) did not answer within {self.config.timeout_sec:g}s{said}"
            return McpError(msg, hint=f"raise `timeout_sec` in the [[mcp]] entry `{self.name}`, or check the server")
        if exc is None:
            return McpError(f"MCP server `{self.name}` was closed while starting")
        if isinstance(exc, FileNotFoundError | PermissionError):
            msg = f"MCP server `{self.name}` could not be started: {exc.strerror or exc} ({where})"
            return McpError(
                msg, hint=f"check `command` in the [[mcp]] entry `{self.name}` (is it installed and on PATH?)"
            )
        if self.config.command and "Connection closed" in str(exc):
            msg = f"MCP server `{self.name}` ({where}) exited during startup{said}"
            return McpError(msg, hint="run the command by hand to see why it exits")
        if self.config.command:
            msg = f"MCP server `{self.name}` ({where}) failed to start: {_describe(exc)}{said}"
            return McpError(msg, hint="run the command by hand to see why it exits")
        msg = f"MCP server `{self.name}` at {where} failed to start: {_describe(exc)}"
        return McpError(msg, hint="check `url` and `headers` in its [[mcp]] entry and that the server is running")

    def _gone_message(self, exc: BaseException | None = None) -> str:
        detail = f" ({_describe(exc)})" if exc is not None else ""
        tail = self.stderr_tail().splitlines()[-3:]
        said = f"; last stderr lines: {' | '.join(tail)}" if tail else ""
        return f"MCP server `{self.name}` is no longer running{detail}{said}"


def import_sdk() -> None:
    """Import the MCP SDK (~1 s); call it in a worker thread so the event loop never stalls on it."""
    for module in ("httpx2", "mcp_types", "mcp", "mcp.client.stdio", "mcp.client.streamable_http"):
        importlib.import_module(module)


def server_environment(config: McpServerConfig) -> dict[str, str]:
    """Extra environment for a stdio server: inherited locale/proxy variables plus its secrets.

    The SDK adds its safe defaults (``HOME``, ``PATH``, ``SHELL``, ``TERM``, ``USER``, ``LOGNAME``).
    """
    env = {key: os.environ[key] for key in EXTRA_INHERITED_ENV if key in os.environ}
    env.update({key: secret.reveal() for key, secret in (config.env or {}).items()})
    return env


async def _list_all(client: Client) -> list[McpToolInfo]:
    tools: list[McpToolInfo] = []
    cursor: str | None = None
    for _ in range(MAX_LIST_PAGES):
        page = await client.list_tools(cursor=cursor)
        tools.extend(
            McpToolInfo(name=t.name, description=t.description or "", input_schema=t.input_schema) for t in page.tools
        )
        cursor = page.next_cursor
        if not cursor:
            return tools
    log.warning("MCP tools/list did not end after %d pages; using the first ones", MAX_LIST_PAGES)
    return tools


def _stderr_file() -> TextIO:
    fd, path = tempfile.mkstemp(prefix="kwaak-mcp-", suffix=".stderr")
    os.close(fd)
    append_fd = os.open(path, os.O_RDWR | os.O_APPEND)
    Path(path).unlink()
    return os.fdopen(append_fd, "a+", encoding="utf-8", errors="replace")


def _unwrap(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def _describe(exc: BaseException) -> str:
    exc = _unwrap(exc)
    text = str(exc).strip()
    if type(exc).__name__ == "MCPError" and text.startswith("("):
        text = getattr(exc, "message", text)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _is_transport_error(exc: BaseException) -> bool:
    module = type(exc).__module__ or ""
    return module.startswith(("httpx2", "anyio")) and not isinstance(exc, ValueError)
