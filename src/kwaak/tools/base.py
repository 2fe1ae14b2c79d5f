"""Tools: what an agent can call, and how a call becomes a tool result the model reads.

A :class:`Tool` has a name, a description, a JSON schema of its arguments and an async handler
``handler(ctx, args) -> str | ToolOutput``. Handlers raise :class:`ToolError` for failures the
model should see and adapt to; those are not user-facing errors.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kwaak.messages import ToolCall, ToolResult, ToolSpec

if TYPE_CHECKING:
    from kwaak.config import Config
    from kwaak.executors.base import Executor
    from kwaak.llm.base import Model


class ToolError(Exception):
    """A failure the model sees as a failed tool output (it can retry or adapt)."""


class StopAgent(Exception):
    """Raised by the ``stop`` tool (and delegate tools) to end the agent's run."""

    def __init__(self, message: str = "Stopped") -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolOutput:
    """A tool's result: text for the model, failed or not, and whether it stops the agent."""

    content: str
    is_error: bool = False
    stop: bool = False
    exit_code: int | None = None
    """The exit code of the command the tool ran, if it ran one."""
    outcome: str | None = None
    """A short outcome for people (e.g. test counts), if the tool knows one."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkspaceInfo:
    """What tools know about the agent's git workspace."""

    path: Path
    branch: str
    start_ref: str


@dataclass(kw_only=True)
class ToolContext:
    """Everything a tool handler may touch. Built once per session."""

    session_id: str
    config: Config
    executor: Executor
    workspace: WorkspaceInfo | None = None
    indexing_model: Model | None = None
    query_model: Model | None = None
    services: dict[str, Any] = field(default_factory=dict)
    """Optional collaborators by name (``index``, ``github``, ``approvals``, ``activity``...)."""
    write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Serializes mutating tools of one session."""

    def activity(self, text: str) -> None:
        """Report a short status line to the front end, if anyone listens."""
        callback = self.services.get("activity")
        if callable(callback):
            callback(text)


Handler = Callable[[ToolContext, dict[str, Any]], Awaitable["str | ToolOutput"]]


def string_params(*params: tuple[str, str], optional: Iterable[str] = ()) -> dict[str, Any]:
    """A strict JSON schema of string parameters ``(name, description)`` (kwaak's style)."""
    optional_set = set(optional)
    return {
        "type": "object",
        "properties": {name: {"type": "string", "description": desc} for name, desc in params},
        "required": [name for name, _ in params if name not in optional_set],
        "additionalProperties": False,
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class Tool:
    """A callable tool with its schema."""

    name: str
    description: str
    handler: Handler
    parameters: Mapping[str, Any] = field(default_factory=lambda: string_params())
    mutating: bool = True
    """Mutating tools of one session run one at a time; read-only ones run concurrently."""
    summarize: Callable[[Mapping[str, Any]], str] | None = None
    """A short human description of a call ("running shell command `ls`")."""
    source: str = "builtin"
    """``builtin`` or ``mcp:<server>``."""

    def spec(self) -> ToolSpec:
        """The spec sent to the model."""
        return ToolSpec(name=self.name, description=self.description, parameters=dict(self.parameters))

    def describe(self, args: Mapping[str, Any]) -> str:
        """The one-line summary shown in the UI for a call with ``args``."""
        if self.summarize is not None:
            try:
                return self.summarize(args)
            except (KeyError, TypeError, ValueError):
                pass
        return generic_summary(self.name, args)


def generic_summary(name: str, args: Mapping[str, Any]) -> str:
    """kwaak's fallback: "calling tool `name` with `<args>`" (long values truncated)."""
    if not args:
        return f"calling tool `{name}`"
    shown = str(next(iter(args.values()))) if len(args) == 1 else json.dumps(args)
    if len(shown) > 20:
        shown = shown[:20] + " ..."
    return f"calling tool `{name}` with `{shown}`"


def parse_arguments(tool: Tool, raw: str) -> dict[str, Any]:
    """Parse and check a call's JSON arguments against the tool's schema.

    Raises:
        ToolError: malformed JSON, a non-object, missing or mistyped arguments.
    """
    text = raw.strip() or "{}"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"arguments for tool `{tool.name}` failed to parse as JSON: {exc.msg} at position {exc.pos}"
        raise ToolError(msg) from exc
    if value is None:
        value = {}
    if not isinstance(value, dict):
        msg = f"arguments for tool `{tool.name}` must be a JSON object"
        raise ToolError(msg)
    props: Mapping[str, Any] = tool.parameters.get("properties", {})
    missing = [name for name in tool.parameters.get("required", []) if name not in value]
    if missing:
        msg = f"arguments missing for tool `{tool.name}`: {', '.join(missing)}"
        raise ToolError(msg)
    for name, val in value.items():
        expected = props.get(name, {}).get("type") if isinstance(props.get(name), dict) else None
        if expected == "string" and val is not None and not isinstance(val, str):
            value[name] = (
                val if isinstance(val, bool) else str(val) if isinstance(val, int | float) else json.dumps(val)
            )
    return value


class ToolRegistry:
    """The tools of one session, by name (later registrations win; MCP clashes are prefixed upstream)."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.add(tool)

    def add(self, tool: Tool) -> None:
        """Register (or replace) a tool."""
        self._tools[tool.name] = tool

    def remove(self, name: str) -> None:
        """Unregister a tool if present."""
        self._tools.pop(name, None)

    def get(self, name: str) -> Tool | None:
        """The tool called ``name``."""
        return self._tools.get(name)

    def names(self) -> list[str]:
        """Tool names in registration order."""
        return list(self._tools)

    def __iter__(self) -> Any:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def specs(self) -> list[ToolSpec]:
        """Specs of every tool, for the model."""
        return [tool.spec() for tool in self._tools.values()]

    async def invoke(self, call: ToolCall, ctx: ToolContext) -> ToolResult:
        """Run one call and turn every outcome into a :class:`ToolResult`.

        Unknown tools, bad arguments and :class:`ToolError` become failed results the model reads.
        :class:`StopAgent` propagates; so does any other exception (a bug, reported by the loop).
        """
        tool = self._tools.get(call.name)
        if tool is None:
            available = ", ".join(sorted(self._tools))
            return _failed(call, f"Tool `{call.name}` does not exist. Available tools: {available}")
        try:
            args = parse_arguments(tool, call.arguments)
            refused = await _guard(ctx, call, tool, args)
            if refused is not None:
                return _failed(call, refused)
            if tool.mutating:
                async with ctx.write_lock:
                    produced = await tool.handler(ctx, args)
            else:
                produced = await tool.handler(ctx, args)
        except ToolError as exc:
            return _failed(call, str(exc))
        if isinstance(produced, ToolOutput):
            if produced.stop:
                raise StopAgent(produced.content)
            return ToolResult(
                call_id=call.id,
                name=call.name,
                content=produced.content,
                is_error=produced.is_error,
                exit_code=produced.exit_code,
                outcome=produced.outcome,
            )
        return ToolResult(call_id=call.id, name=call.name, content=produced)

    async def invoke_all(self, calls: Sequence[ToolCall], ctx: ToolContext) -> list[ToolResult | BaseException]:
        """Run calls concurrently (mutating ones serialized by the lock); results in call order."""
        return await asyncio.gather(*(self.invoke(c, ctx) for c in calls), return_exceptions=True)


CommandGuard = Callable[[str, str], Awaitable["str | None"]]
"""``guard(call_id, command)``: ``None`` to run the command, else the refusal the model reads."""


async def _guard(ctx: ToolContext, call: ToolCall, tool: Tool, args: dict[str, Any]) -> str | None:
    guard = ctx.services.get("command_guard")
    if guard is None:
        return None
    from kwaak.tools.policy import command_of

    command = command_of(tool.name, args)
    if not command:
        return None
    result: str | None = await guard(call.id, command)
    return result


def _failed(call: ToolCall, message: str) -> ToolResult:
    return ToolResult(call_id=call.id, name=call.name, content=message, is_error=True)
