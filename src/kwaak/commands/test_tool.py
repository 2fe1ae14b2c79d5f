"""``kwaak test-tool <NAME> [ARGS_JSON]``: run one tool (built-in or MCP) once, in a throwaway workspace.

Unlike kwaak (which always started a Docker executor with no git setup), the tool runs in a fresh
git worktree of the repository on a temporary branch, with the configured executor (falling back
like agent sessions do), so ``reset_file`` and git tools work and the user's checkout is never
touched. The worktree and its branch are removed afterwards.

Exit codes: 0 the tool succeeded; 1 the tool reported an error; 2 unknown tool or bad JSON.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from kwaak.commands.list_tools import CommandApp, load_builtin_tools
from kwaak.config import Config
from kwaak.errors import UsageError
from kwaak.executors.base import Executor
from kwaak.git.workspace import AgentWorkspace, create_workspace, remove_workspace
from kwaak.messages import ToolCall, ToolResult
from kwaak.tools.base import StopAgent, ToolContext, ToolRegistry, WorkspaceInfo

Warn = Callable[[str], None]

EXIT_OK = 0
EXIT_TOOL_ERROR = 1
EXIT_USAGE = 2


def run(app: CommandApp, name: str, args_json: str | None) -> int:
    """Run tool ``name`` with ``args_json`` (a JSON object, default ``{}``); return the exit code."""
    return asyncio.run(run_async(app, name, args_json))


async def run_async(
    app: CommandApp, name: str, args_json: str | None, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """:func:`run` inside a running event loop, printing to ``out``/``err`` (default stdout/stderr)."""
    out = out or sys.stdout
    err = err or sys.stderr
    arguments = (args_json or "").strip() or "{}"
    problem = _check_arguments(arguments)
    if problem is not None:
        print(
            UsageError(problem, hint='pass the arguments as one JSON object, e.g. \'{"cmd": "ls"}\'').render(), file=err
        )
        return EXIT_USAGE

    def warn(text: str) -> None:
        print(text, file=err)

    session_id = uuid.uuid4().hex
    with tempfile.TemporaryDirectory(prefix="kwaak-test-tool-") as tmp:
        workspace = await create_workspace(
            app.repo_root, worktrees_dir=Path(tmp), branch=f"kwaak/test-tool-{session_id[:8]}", session_id=session_id
        )
        try:
            result = await _invoke(app, workspace, name, arguments, session_id=session_id, warn=warn)
        finally:
            await remove_workspace(workspace, delete_branch=True)
    if isinstance(result, UsageError):
        print(result.render(), file=err)
        return EXIT_USAGE
    print(result.content, file=out)
    return EXIT_TOOL_ERROR if result.is_error else EXIT_OK


async def _invoke(
    app: CommandApp, workspace: AgentWorkspace, name: str, arguments: str, *, session_id: str, warn: Warn
) -> ToolResult | UsageError:
    from kwaak.mcp import McpToolset, merge_tools

    async with McpToolset(app.config.mcp or (), on_warning=warn, cwd=workspace.path) as toolset:
        builtin = load_builtin_tools(app.config, warn=warn)
        registry = ToolRegistry(merge_tools(builtin, toolset.tools()))
        if name not in registry:
            available = ", ".join(sorted(registry.names())) or "(none)"
            return UsageError(f"Tool not found: {name}", hint=f"available tools: {available}")
        executor = await _start_executor(
            app.config, workspace, session_id=session_id, repo_root=app.repo_root, warn=warn
        )
        try:
            ctx = ToolContext(
                session_id=session_id,
                config=app.config,
                executor=executor,
                workspace=WorkspaceInfo(path=workspace.path, branch=workspace.branch, start_ref=workspace.start_ref),
                services={"activity": warn},
            )
            warn(f"Invoking tool: {name}")
            call = ToolCall(id=f"test-tool-{session_id[:8]}", name=name, arguments=arguments)
            try:
                return await registry.invoke(call, ctx)
            except StopAgent as stop:
                return ToolResult(call_id=call.id, name=name, content=stop.message)
        finally:
            await executor.aclose()


async def _start_executor(
    config: Config, workspace: AgentWorkspace, *, session_id: str, repo_root: Path, warn: Warn
) -> Executor:
    try:
        factory: Any = importlib.import_module("kwaak.executors.factory")
    except ImportError:
        from kwaak.executors.local import LocalExecutor

        return LocalExecutor(workspace.path)
    executor: Executor = await factory.start_executor(
        config, workspace.path, session_id=session_id, repo_root=repo_root, on_warning=warn
    )
    return executor


def _check_arguments(arguments: str) -> str | None:
    try:
        value = json.loads(arguments)
    except json.JSONDecodeError as exc:
        return f"the tool arguments are not valid JSON: {exc.msg} at position {exc.pos}"
    if not isinstance(value, dict):
        return f"the tool arguments must be a JSON object, not {type(value).__name__}"
    return None
