"""Fixtures for the MCP tests: our fake server (stdio and HTTP) and server-everything from npm."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kwaak.config import Config
from kwaak.config.model import McpServerConfig
from kwaak.executors.local import LocalExecutor
from kwaak.tools.base import ToolContext

FAKE_SERVER = Path(__file__).resolve().parents[1] / "fakes" / "mcp_server.py"
EVERYTHING_ENV = "KWAAK_MCP_EVERYTHING"
# Resolved at import time: the autouse fixture points HOME at a temp dir during tests.
_DEFAULT_EVERYTHING = (
    Path(os.environ.get("KWAAK_CI_CACHE", str(Path.home() / ".cache" / "kwaak-ci")))
    / "mcp/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
)


def everything_entry() -> Path | None:
    """The installed server-everything entry point (see ``.ci/setup-mcp.sh``), if any."""
    configured = os.environ.get(EVERYTHING_ENV)
    path = Path(configured) if configured else _DEFAULT_EVERYTHING
    return path if path.is_file() else None


def fake_stdio(name: str, *extra: str, **fields: Any) -> McpServerConfig:
    """A config entry running our fake server over stdio."""
    return McpServerConfig(name=name, command=sys.executable, args=(str(FAKE_SERVER), "--stdio", *extra), **fields)


@pytest.fixture
def everything() -> Callable[..., McpServerConfig]:
    """Factory of config entries for server-everything; skips loudly when it is not installed."""
    entry = everything_entry()
    node = shutil.which("node")
    if entry is None or node is None:
        pytest.skip(
            "@modelcontextprotocol/server-everything is not installed: run .ci/setup-mcp.sh "
            f"(or set {EVERYTHING_ENV} to its dist/index.js); node={node}"
        )

    def factory(name: str = "everything", **fields: Any) -> McpServerConfig:
        return McpServerConfig.model_validate({"name": name, "command": node, "args": [str(entry), "stdio"], **fields})

    return factory


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class HttpServer:
    """Our fake MCP server as a subprocess serving streamable HTTP on 127.0.0.1."""

    def __init__(self, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.proc = subprocess.Popen(
            [sys.executable, str(FAKE_SERVER), "--http", "--port", str(self.port), *extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        self.stop()
        msg = "the fake MCP HTTP server did not start"
        raise RuntimeError(msg)

    def stop(self) -> None:
        """Kill the server (idempotent)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def http_server() -> Iterator[HttpServer]:
    """A running fake MCP server over HTTP."""
    server = HttpServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def tool_ctx(make_config: Callable[..., Config], tmp_git_repo: Path) -> ToolContext:
    """A tool context with a short tool timeout and a local executor on the test repo."""
    config = make_config(limits={"tool_timeout_sec": 3})
    return ToolContext(session_id="mcp-test", config=config, executor=LocalExecutor(tmp_git_repo))
