"""The file, search and edit tools through the sandbox (bubblewrap) and docker executors.

Same tools, same answers as with the local executor: paths are relative to the workdir (``/app``
in docker), ``rg`` comes from the host's ripgrep wheel, commands are argv.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from kwaak.config import Config
from kwaak.executors.base import Executor
from kwaak.executors.docker import DockerExecutor
from kwaak.executors.sandbox import SandboxExecutor
from kwaak.git.workspace import AgentWorkspace, create_workspace
from kwaak.messages import ToolCall, ToolResult
from kwaak.tools.base import ToolContext, ToolRegistry, WorkspaceInfo
from kwaak.tools.catalog import builtin_tools
from tests.conftest import git
from tests.executors.conftest import TEST_IMAGE

PATCH = '@@ -1,3 +1,3 @@\n def add(a, b):\n     """Add two numbers."""\n-    return a + b\n+    return b + a\n'


@pytest.fixture
async def agent_workspace(tmp_git_repo: Path, tmp_path: Path) -> AgentWorkspace:
    (tmp_git_repo / "Dockerfile").write_text(f"FROM {TEST_IMAGE}\n")
    git(tmp_git_repo, "add", "Dockerfile")
    git(tmp_git_repo, "commit", "-q", "-m", "Dockerfile")
    return await create_workspace(
        tmp_git_repo, worktrees_dir=tmp_path / "wt", branch="kwaak/tools-1", session_id=uuid.uuid4().hex
    )


@pytest.fixture
async def sandbox(bwrap_ok: None, agent_workspace: AgentWorkspace) -> AsyncIterator[Executor]:
    executor = await SandboxExecutor.create(agent_workspace.path)
    yield executor
    await executor.aclose()


@pytest.fixture
async def docker(
    docker_ok: None, agent_workspace: AgentWorkspace, make_config: Callable[..., Config]
) -> AsyncIterator[Executor]:
    config = make_config(tool_executor="docker")
    executor = await DockerExecutor.start(
        config, agent_workspace.path, session_id=uuid.uuid4().hex, repo_root=agent_workspace.repo_root
    )
    yield executor
    await executor.aclose()


async def _exercise(executor: Executor, ws: AgentWorkspace, config: Config) -> None:
    ctx = ToolContext(
        session_id="s",
        config=config,
        executor=executor,
        workspace=WorkspaceInfo(path=ws.path, branch=ws.branch, start_ref=ws.start_ref),
    )
    registry = ToolRegistry(builtin_tools(config))

    async def call(name: str, **args: Any) -> ToolResult:
        return await registry.invoke(ToolCall(id="c", name=name, arguments=json.dumps(args)), ctx)

    assert (await call("search_code", query="RETURN A + B")).content == "src/calc.py:3:    return a + b"
    assert (await call("search_file", file_name="calc")).content == "src/calc.py\ntests/test_calc.py"
    assert (await call("patch_file", file_name="src/calc.py", patch=PATCH)).content.startswith("Patch applied")
    numbered = await call("read_file_with_line_numbers", file_name=f"{executor.workdir}/src/calc.py")
    assert numbered.content.endswith("3|    return b + a")
    assert not (await call("write_file", file_name="odd $(touch pwned) name.txt", content="x\n")).is_error
    assert (ws.path / "odd $(touch pwned) name.txt").read_text() == "x\n"
    assert not (ws.path / "pwned").exists()
    assert (await call("read_file_with_line_numbers", file_name="../outside.txt")).is_error
    assert "src/calc.py" in (await call("git", command="status --short")).content
    assert not (await call("reset_file", file_name="src/calc.py")).is_error
    assert (ws.path / "src" / "calc.py").read_text().endswith("    return a + b\n")
    assert (await call("shell_command", cmd="cat hello.txt")).content == "Hello, world!"


@pytest.mark.sandbox
async def test_tools_in_the_sandbox(
    sandbox: Executor, agent_workspace: AgentWorkspace, make_config: Callable[..., Config]
) -> None:
    await _exercise(sandbox, agent_workspace, make_config(tool_executor="sandbox"))


@pytest.mark.docker
@pytest.mark.slow
async def test_tools_in_docker(
    docker: Executor, agent_workspace: AgentWorkspace, make_config: Callable[..., Config]
) -> None:
    await _exercise(docker, agent_workspace, make_config(tool_executor="docker"))
