"""A small MCP server for tests, built on the official SDK's low-level ``Server``.

Run it over stdio (``python -m tests.fakes.mcp_server --stdio``) or streamable HTTP on
127.0.0.1 (``python -m tests.fakes.mcp_server --http --port 8123``; endpoint ``/mcp``).

Tools:

* ``echo(message)`` → ``"Echo: <message>"``
* ``add(a: int, b: int)`` → the sum as text
* ``fail()`` → an ``isError`` result with text ``"this tool always fails"``
* ``crash()`` → the process exits with status 3 before answering
* ``slow(seconds)`` → sleeps, then ``"slept <seconds>"``
* ``env(name)`` → the value of an environment variable (``"<unset>"`` if missing)
* ``header(name)`` → the value of an HTTP request header (HTTP only)
* ``image()`` → a text part plus an image part
* ``pid()`` / ``cwd()`` → the server's process id / working directory
* ``filler_<i>()`` for ``--fillers N`` extra tools (to exercise paging)

Options: ``--page-size N`` pages ``tools/list``; ``--init-delay S`` sleeps before serving (an
init that times out); ``--exit-at-start`` exits with status 2 and a message on stderr.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import Server

TINY_PNG = base64.b64encode(bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001")).decode()


def _schema(properties: dict[str, Any] | None = None, required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": properties or {}, "required": required or []}


BASE_TOOLS: list[types.Tool] = [
    types.Tool(
        name="echo",
        description="Echoes back the input message.\nSecond line of the description.",
        input_schema=_schema({"message": {"type": "string", "description": "What to echo"}}, ["message"]),
    ),
    types.Tool(
        name="add",
        description="Adds two integers",
        input_schema=_schema({"a": {"type": "integer"}, "b": {"type": "integer"}}, ["a", "b"]),
    ),
    types.Tool(name="fail", description="Always returns an error result", input_schema=_schema()),
    types.Tool(name="crash", description="Exits the server process", input_schema=_schema()),
    types.Tool(
        name="slow",
        description="Sleeps for a while",
        input_schema=_schema({"seconds": {"type": "number"}}, ["seconds"]),
    ),
    types.Tool(
        name="env",
        description="Returns an environment variable of the server process",
        input_schema=_schema({"name": {"type": "string"}}, ["name"]),
    ),
    types.Tool(
        name="header",
        description="Returns an HTTP request header",
        input_schema=_schema({"name": {"type": "string"}}, ["name"]),
    ),
    types.Tool(name="image", description="Returns text and an image", input_schema=_schema()),
    types.Tool(name="pid", description="Returns the server's process id", input_schema=_schema()),
    types.Tool(name="cwd", description="Returns the server's working directory", input_schema=_schema()),
]


def build_server(*, fillers: int = 0, page_size: int | None = None) -> Server[Any]:
    """The fake server with ``fillers`` extra tools, listing ``page_size`` tools per page."""
    tools = BASE_TOOLS + [
        types.Tool(name=f"filler_{i}", description=f"Filler tool {i}", input_schema=_schema()) for i in range(fillers)
    ]

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        start = int(params.cursor) if params is not None and params.cursor else 0
        if page_size is None:
            return types.ListToolsResult(tools=tools)
        end = start + page_size
        next_cursor = str(end) if end < len(tools) else None
        return types.ListToolsResult(tools=tools[start:end], next_cursor=next_cursor)

    async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> types.CallToolResult:
        return await _call(ctx, params.name, dict(params.arguments or {}))

    return Server("kwaak-fake", version="1.0", on_list_tools=list_tools, on_call_tool=call_tool)


def _text(text: str, *, error: bool = False) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=error)


async def _call(ctx: ServerRequestContext[Any], name: str, args: dict[str, Any]) -> types.CallToolResult:
    match name:
        case "echo":
            return _text(f"Echo: {args['message']}")
        case "add":
            return _text(str(int(args["a"]) + int(args["b"])))
        case "fail":
            return _text("this tool always fails", error=True)
        case "crash":
            sys.stdout.flush()
            os._exit(3)
        case "slow":
            await anyio.sleep(float(args["seconds"]))
            return _text(f"slept {args['seconds']}")
        case "env":
            return _text(os.environ.get(str(args["name"]), "<unset>"))
        case "header":
            request = ctx.request
            headers = getattr(request, "headers", None)
            return _text(str(headers.get(str(args["name"]), "<unset>")) if headers is not None else "<no http>")
        case "image":
            return types.CallToolResult(
                content=[
                    types.TextContent(type="text", text="here is an image"),
                    types.ImageContent(type="image", data=TINY_PNG, mime_type="image/png"),
                ]
            )
        case "pid":
            return _text(str(os.getpid()))
        case "cwd":
            return _text(str(Path.cwd()))
        case _ if name.startswith("filler_"):
            return _text(name)
    return _text(f"unknown tool {name}", error=True)


async def _serve_stdio(server: Server[Any]) -> None:
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


async def _serve_http(server: Server[Any], port: int) -> None:
    import uvicorn

    app = server.streamable_http_app()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    await uvicorn.Server(config).serve()


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until the client goes away (stdio) or we are killed (HTTP)."""
    parser = argparse.ArgumentParser(description=__doc__)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--stdio", action="store_true")
    mode.add_argument("--http", action="store_true")
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--fillers", type=int, default=0)
    parser.add_argument("--page-size", type=int, default=None)
    parser.add_argument("--init-delay", type=float, default=0.0)
    parser.add_argument("--exit-at-start", action="store_true")
    args = parser.parse_args(argv)
    if args.exit_at_start:
        print("fake mcp server: refusing to start", file=sys.stderr)
        raise SystemExit(2)
    server = build_server(fillers=args.fillers, page_size=args.page_size)

    async def run() -> None:
        if args.init_delay:
            await anyio.sleep(args.init_delay)
        if args.stdio:
            await _serve_stdio(server)
        else:
            await _serve_http(server, args.port)

    anyio.run(run)


if __name__ == "__main__":
    main()
