"""How fast an unreachable endpoint is reported (issue: a refused base_url used to spin ~105 s).

1. A chat request to a ``base_url`` with nothing listening (connection refused), with kwaak's
   default backoff (15 s, 30 s, 60 s): time until the ``Unreachable`` error.
2. The same for a TLS handshake against a plain-HTTP server (``https://`` to an ``http://`` port).
3. An embedding request to a refused ``base_url`` (the index then stays keyword-only).

Usage: ``.venv/bin/python bench/bench_unreachable.py [--runs N]``
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from kwaak.config.model import BackoffConfig, OpenAIConfig
from kwaak.config.secrets import ApiKey
from kwaak.errors import Unreachable
from kwaak.llm import make_embedder, make_model
from kwaak.messages import UserMessage


class Quiet(BaseHTTPRequestHandler):
    """Answers nothing useful (the TLS client hello is garbage to it) and logs nothing."""

    def log_message(self, format: str, *args: object) -> None:
        return None


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cfg(base_url: str) -> OpenAIConfig:
    return OpenAIConfig(
        provider="OpenAI",
        api_key=ApiKey("x"),
        base_url=base_url,
        prompt_model="gpt-4o",
        embedding_model="text-embedding-3-small",
    )


async def timed(call: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    try:
        await call()
    except Unreachable:
        return time.perf_counter() - started
    msg = "expected Unreachable"
    raise AssertionError(msg)


async def main(runs: int) -> None:
    backoff = BackoffConfig()
    refused = f"http://127.0.0.1:{closed_port()}/v1"
    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    tls = f"https://127.0.0.1:{server.server_address[1]}/v1"
    cases: dict[str, Callable[[], Awaitable[object]]] = {
        "chat, connection refused": lambda: make_model(cfg(refused), backoff=backoff).complete(
            [UserMessage(content="hi")]
        ),
        "chat, TLS to a plain-HTTP port": lambda: make_model(cfg(tls), backoff=backoff).complete(
            [UserMessage(content="hi")]
        ),
        "embedding, connection refused": lambda: make_embedder(cfg(refused), backoff=backoff).embed(["code"]),
    }
    print(f"time until the error (default backoff would retry for up to {backoff.max_elapsed_time_sec:g} s)")
    for name, call in cases.items():
        times = [await timed(call) for _ in range(runs)]
        print(f"  {name:<32} median {statistics.median(times) * 1000:7.1f} ms   max {max(times) * 1000:7.1f} ms")
    server.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    asyncio.run(main(parser.parse_args().runs))
    sys.exit(0)
