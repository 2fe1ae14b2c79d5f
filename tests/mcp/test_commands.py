"""The ``list-tools`` and ``test-tool`` verbs, called directly and (once the CLI exists) as subprocesses."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from kwaak.commands import list_tools, test_tool
from kwaak.config import Config
from kwaak.config.model import McpServerConfig
from tests.conftest import base_config_data, git
from tests.mcp.conftest import FAKE_SERVER, everything_entry

HAS_CATALOG = importlib.util.find_spec("kwaak.tools.catalog") is not None
HAS_CLI = importlib.util.find_spec("kwaak.cli") is not None


@dataclass
class App:
    config: Config
    repo_root: Path


def fake_entry(name: str, *extra: str) -> dict[str, Any]:
    return {"name": name, "command": sys.executable, "args": [str(FAKE_SERVER), "--stdio", *extra]}


@pytest.fixture
def app(make_config: Callable[..., Config], tmp_git_repo: Path) -> App:
    return App(config=make_config(mcp=[fake_entry("fake")]), repo_root=tmp_git_repo)


async def run_list(app: App, *, as_json: bool = False) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = await list_tools.run_async(app, as_json=as_json, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


async def run_tool(app: App, name: str, args: str | None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = await test_tool.run_async(app, name, args, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def branches(repo: Path) -> list[str]:
    return git(repo, "branch", "--format=%(refname:short)").split()


async def test_list_tools_text_format(app: App) -> None:
    code, out, err = await run_list(app)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "**Enabled built-in tools:**"
    mcp_at = lines.index("**MCP tools:**")
    assert lines[mcp_at - 1] == ""
    assert all(line.startswith(" - ") for line in lines[1 : mcp_at - 1])
    assert lines[mcp_at + 1] == "::fake"
    assert " - echo: Echoes back the input message." in lines
    assert " - add: Adds two integers" in lines
    if HAS_CATALOG:
        assert " - shell_command" in lines[1:mcp_at]
    else:
        assert "catalog is not available" in err


async def test_list_tools_json(app: App) -> None:
    code, out, _ = await run_list(app, as_json=True)
    assert code == 0
    specs = {spec["name"]: spec for spec in json.loads(out)}
    assert specs["add"] == {
        "name": "add",
        "description": "Adds two integers",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
        },
        "source": "mcp:fake",
    }


async def test_list_tools_reports_a_failed_server_and_exits_1(
    make_config: Callable[..., Config], tmp_git_repo: Path
) -> None:
    config = make_config(mcp=[fake_entry("fake"), {"name": "ghost", "command": "/nonexistent/mcp-ghost"}])
    code, out, err = await run_list(App(config=config, repo_root=tmp_git_repo))
    assert code == 1
    assert "::ghost\n (not available: MCP server `ghost` could not be started" in out
    assert " - echo: " in out
    assert "hint:" in err and "Continuing without the tools of `ghost`" in err


async def test_list_tools_needs_no_github_configuration(make_config: Callable[..., Config], tmp_git_repo: Path) -> None:
    config = make_config(mcp=None)
    assert config.github_api_key is None
    code, out, _ = await run_list(App(config=config, repo_root=tmp_git_repo))
    assert code == 0
    assert out.endswith("**MCP tools:**\n")


async def test_test_tool_runs_an_mcp_tool_in_a_throwaway_worktree(app: App) -> None:
    before = branches(app.repo_root)
    code, out, err = await run_tool(app, "echo", '{"message": "hi"}')
    assert (code, out) == (0, "Echo: hi\n")
    assert "Invoking tool: echo" in err
    assert branches(app.repo_root) == before
    assert git(app.repo_root, "worktree", "list").count("\n") == 0
    assert git(app.repo_root, "status", "--porcelain") == ""


async def test_test_tool_mcp_server_runs_in_the_worktree(app: App) -> None:
    code, out, _ = await run_tool(app, "cwd", None)
    assert code == 0
    worktree = Path(out.strip())
    assert worktree.resolve() != app.repo_root.resolve()
    assert worktree.name and not worktree.exists()


async def test_test_tool_error_result_exits_1(app: App) -> None:
    code, out, _ = await run_tool(app, "fail", "{}")
    assert (code, out) == (1, "Failed to execute mcp tool: this tool always fails\n")


async def test_test_tool_unknown_tool_exits_2_with_the_tool_list(app: App) -> None:
    before = branches(app.repo_root)
    code, out, err = await run_tool(app, "no_such_tool", None)
    assert code == 2 and out == ""
    assert "Tool not found: no_such_tool" in err
    assert "hint: available tools:" in err and "echo" in err
    assert branches(app.repo_root) == before


@pytest.mark.parametrize("args", ["{not json", "[1, 2]", '"text"'])
async def test_test_tool_bad_json_exits_2(app: App, args: str) -> None:
    code, out, err = await run_tool(app, "echo", args)
    assert code == 2 and out == ""
    assert "arguments" in err and "hint:" in err


async def test_test_tool_runs_a_builtin_tool(app: App) -> None:
    if not HAS_CATALOG:
        pytest.skip("kwaak.tools.catalog (built-in tools, another area) is not in this tree yet")
    code, out, _ = await run_tool(app, "shell_command", '{"cmd": "cat hello.txt"}')
    assert code == 0 and "Hello, world!" in out


# -- through the real CLI ---------------------------------------------------------------------


def write_kwaak_toml(repo: Path, mcp: list[dict[str, Any]]) -> None:
    data = base_config_data(repo, mcp=mcp)
    (repo / "kwaak.toml").write_text(tomli_w.dumps(data))


def run_cli(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    return subprocess.run(
        [sys.executable, "-m", "kwaak", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def cli_repo(tmp_git_repo: Path) -> Path:
    if not HAS_CLI:
        pytest.skip("kwaak.cli (the CLI, another area) is not in this tree yet")
    entry = everything_entry()
    if entry is None:
        pytest.skip("@modelcontextprotocol/server-everything is not installed: run .ci/setup-mcp.sh")
    everything = McpServerConfig(name="server-everything", command="node", args=(str(entry), "stdio"))
    write_kwaak_toml(tmp_git_repo, [{"name": everything.name, "command": "node", "args": list(everything.args)}])
    return tmp_git_repo


def test_cli_list_tools(cli_repo: Path) -> None:
    proc = run_cli(cli_repo, "list-tools")
    assert proc.returncode == 0, proc.stderr
    assert "**MCP tools:**\n::server-everything\n" in proc.stdout
    assert " - echo: Echoes back the input string" in proc.stdout


def test_cli_test_tool(cli_repo: Path) -> None:
    proc = run_cli(cli_repo, "test-tool", "echo", '{"message":"hi"}')
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("Echo: hi")


async def test_session_tooling_merges_mcp_tools(make_config: Callable[..., Config]) -> None:
    from contextlib import AsyncExitStack

    from kwaak.backend.tooling import build_tools

    warnings: list[str] = []
    config = make_config(mcp=[fake_entry("fake"), fake_entry("twin")])
    async with AsyncExitStack() as resources:
        registry = await build_tools(config, resources=resources, warn=warnings.append)
        names = set(registry.names())
    assert {"fake__echo", "twin__echo", "fake__add", "twin__add"} <= names
    if HAS_CATALOG:
        assert "shell_command" in names
    assert warnings == []
