"""Fixtures for tool tests: a real LocalExecutor in a temp git repo, and a helper to call tools."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from kwaak.config import Config
from kwaak.executors.local import LocalExecutor
from kwaak.messages import ToolCall, ToolResult
from kwaak.tools.base import ToolContext, ToolRegistry, WorkspaceInfo
from kwaak.tools.catalog import builtin_tools
from tests.conftest import git
from tests.executors.conftest import bwrap_ok, docker_ok  # noqa: F401 - availability fixtures, re-exported

Call = Callable[..., Awaitable[ToolResult]]


def make_ctx(repo: Path, config: Config, *, workspace: bool = True, **services: Any) -> ToolContext:
    info = WorkspaceInfo(path=repo, branch="main", start_ref=git(repo, "rev-parse", "HEAD")) if workspace else None
    return ToolContext(
        session_id="test-session",
        config=config,
        executor=LocalExecutor(repo),
        workspace=info,
        services=dict(services),
    )


@pytest.fixture
def ctx(tmp_git_repo: Path, make_config: Callable[..., Config]) -> ToolContext:
    """A tool context on ``tmp_git_repo`` (patch edit mode, ``commands.test`` set)."""
    return make_ctx(tmp_git_repo, make_config())


async def invoke(ctx: ToolContext, name: str, /, **args: Any) -> ToolResult:
    """Call the built-in tool ``name`` like the agent loop does (JSON arguments, registry dispatch)."""
    registry = ToolRegistry(builtin_tools(ctx.config, has_workspace=ctx.workspace is not None, github_enabled=False))
    return await registry.invoke(ToolCall(id="call-1", name=name, arguments=json.dumps(args)), ctx)


@pytest.fixture
def call(ctx: ToolContext) -> Call:
    """``await call("read_file", file_name="x")`` through the registry of ``ctx``'s config."""

    async def run(name: str, /, **args: Any) -> ToolResult:
        return await invoke(ctx, name, **args)

    return run
