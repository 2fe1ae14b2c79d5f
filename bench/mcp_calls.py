"""MCP overhead: server start (initialize + tools/list) and per-call latency through McpToolset.

Run: .venv/bin/python bench/mcp_calls.py [N_CALLS] [--json FILE]
Uses our fake server (tests/fakes/mcp_server.py) over stdio and, when installed by
.ci/setup-mcp.sh, @modelcontextprotocol/server-everything.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from kwaak.config.model import McpServerConfig
from kwaak.mcp import McpToolset
from kwaak.tools.base import ToolContext

ROOT = Path(__file__).resolve().parents[1]
EVERYTHING = Path.home() / ".cache/kwaak-ci/mcp/node_modules/@modelcontextprotocol/server-everything/dist/index.js"


class _Limits:
    tool_timeout_sec = 30.0


class _Config:
    limits = _Limits()


async def bench(server: McpServerConfig, calls: int) -> dict[str, float]:
    ctx: Any = ToolContext(session_id="bench", config=_Config(), executor=None)
    started = time.perf_counter()
    async with McpToolset([server]) as toolset:
        ready = time.perf_counter() - started
        echo = next(t for t in toolset.tools() if t.name == "echo")
        samples = []
        for i in range(calls):
            t0 = time.perf_counter()
            await echo.handler(ctx, {"message": f"m{i}"})
            samples.append((time.perf_counter() - t0) * 1000)
        closing = time.perf_counter()
    closed = time.perf_counter() - closing
    samples.sort()
    print(
        f"{server.name:12s} start {ready * 1000:7.0f} ms | echo p50 {statistics.median(samples):6.2f} ms "
        f"p90 {samples[int(len(samples) * 0.9)]:6.2f} ms | close {closed * 1000:6.0f} ms"
    )
    return {
        "start_ms": ready * 1000,
        "call_p50_ms": statistics.median(samples),
        "call_p90_ms": samples[int(len(samples) * 0.9)],
        "close_ms": closed * 1000,
    }


async def main() -> None:
    argv = sys.argv[1:]
    out = Path(argv.pop(argv.index("--json") + 1)) if "--json" in argv else None
    argv = [a for a in argv if a != "--json"]
    calls = int(argv[0]) if argv else 200
    figures: dict[str, dict[str, float]] = {}
    servers = [
        McpServerConfig(
            name="fake-stdio", command=sys.executable, args=(str(ROOT / "tests/fakes/mcp_server.py"), "--stdio")
        )
    ]
    if EVERYTHING.is_file():
        servers.append(McpServerConfig(name="everything", command="node", args=(str(EVERYTHING), "stdio")))
    for server in servers:
        figures[server.name] = await bench(server, calls)
    if out is not None:
        out.write_text(json.dumps({"calls": calls, "servers": figures}, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
