"""Hypothesis fuzzing of every built-in tool's arguments through ``ToolRegistry.invoke``.

File, search and edit tools run on a real ``LocalExecutor`` in a temp repo; command tools
(``shell_command``, ``git``, ``run_tests``, ``run_coverage``) run in the bubblewrap sandbox, because
on the local executor a shell may write anywhere by design. For every generated call: the
outcome is a ``ToolResult`` (``stop`` raises ``StopAgent``), never another exception, and nothing
outside the workspace changes (a canary directory, also reachable through a symlink in the repo).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kwaak.config import Config
from kwaak.executors.base import Executor
from kwaak.executors.local import LocalExecutor
from kwaak.executors.sandbox import SandboxExecutor
from kwaak.messages import ToolCall, ToolResult
from kwaak.tools.base import StopAgent, ToolContext, ToolRegistry, WorkspaceInfo
from kwaak.tools.catalog import builtin_tools
from tests.conftest import git

FILE_TOOLS = (
    "read_file",
    "read_file_with_line_numbers",
    "write_file",
    "search_file",
    "search_code",
    "replace_lines",
    "add_lines",
    "patch_file",
    "reset_file",
    "explain_code",
    "stop",
)
COMMAND_TOOLS = ("shell_command", "git", "run_tests", "run_coverage")
FUZZ_SETTINGS = settings(
    max_examples=int(os.environ.get("KWAAK_FUZZ_EXAMPLES", "120")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

HOSTILE_PATHS = st.sampled_from(
    [
        "",
        ".",
        "..",
        "../canary/planted.txt",
        "canary_link/planted.txt",
        "canary_link",
        "/etc/passwd",
        "/tmp/kwaak-fuzz-planted",
        "~/.bashrc",
        "src/../../canary/x",
        "hello.txt",
        "src/calc.py",
        "src",
        "new/dir/file.py",
        ".git/config",
        ".git/hooks/pre-commit",
        "a\x00b",
        "ünï cødé.txt",
        "x" * 300,
        "-rf",
        "$(touch ../canary/pwned)",
        "`touch ../canary/pwned`",
        "; touch ../canary/pwned",
    ]
)
NUMBERS = st.integers(min_value=-(2**40), max_value=2**40).map(str)
TEXT = st.text(max_size=200)
PATCHES = st.sampled_from(
    [
        "",
        "--- a/hello.txt\n+++ b/hello.txt\n@@ -1 +1 @@\n-Hello, world!\n+Bye\n",
        "--- a/../canary/x\n+++ b/../canary/x\n@@ -0,0 +1 @@\n+planted\n",
        "--- a/canary_link/x\n+++ b/canary_link/x\n@@ -0,0 +1 @@\n+planted\n",
        "@@ -1,1 +1,1 @@\n-nope\n+yes\n",
        "@@ -999999999 +999999999 @@\n+x\n",
        "not a patch at all",
    ]
)
VALUES = st.one_of(HOSTILE_PATHS, NUMBERS, TEXT, PATCHES)
JSON_ANY = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)


def _arguments(tool_params: dict[str, Any]) -> st.SearchStrategy[str]:
    """Well-formed, ill-typed and plainly broken JSON arguments for a tool's schema."""
    props = list(tool_params.get("properties", {}))
    shaped = st.fixed_dictionaries({}, optional={name: st.one_of(VALUES, JSON_ANY) for name in props})
    extra = st.dictionaries(st.text(max_size=12), JSON_ANY, max_size=3)
    return st.one_of(
        shaped.map(json.dumps),
        st.tuples(shaped, extra).map(lambda pair: json.dumps({**pair[1], **pair[0]})),
        JSON_ANY.map(json.dumps),
        st.text(max_size=80),
    )


def _snapshot(directory: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(directory)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(directory.rglob("*"))
        if p.is_file() or p.is_dir()
    }


def _setup(repo: Path) -> Path:
    canary = repo.parent / "canary"
    canary.mkdir()
    (canary / "keep.txt").write_text("do not touch\n")
    (repo / "canary_link").symlink_to(canary)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "canary link")
    return canary


def _registry(config: Config, names: tuple[str, ...]) -> ToolRegistry:
    tools = [t for mode in ("patch", "line", "whole") for t in builtin_tools(_mode(config, mode), github_enabled=False)]
    registry = ToolRegistry(t for t in tools if t.name in names)
    assert sorted(registry.names()) == sorted(names), registry.names()
    return registry


def _mode(config: Config, mode: str) -> Config:
    return config.model_copy(update={"agent_edit_mode": mode})


def _ctx(repo: Path, config: Config, executor: Executor) -> ToolContext:
    info = WorkspaceInfo(path=repo, branch="main", start_ref=git(repo, "rev-parse", "HEAD"))
    return ToolContext(session_id="fuzz", config=config, executor=executor, workspace=info)


async def _invoke(registry: ToolRegistry, ctx: ToolContext, name: str, raw: str) -> ToolResult | None:
    try:
        return await registry.invoke(ToolCall(id="fuzz-1", name=name, arguments=raw), ctx)
    except StopAgent:
        assert name == "stop"
        return None


def _fuzz(registry: ToolRegistry, ctx: ToolContext, canary: Path, tmp: Path) -> Callable[..., None]:
    before = _snapshot(canary)
    outside_before = sorted(p.name for p in tmp.iterdir())
    loop = asyncio.new_event_loop()

    @FUZZ_SETTINGS
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(registry.names()), label="tool")
        tool = registry.get(name)
        assert tool is not None
        raw = data.draw(_arguments(dict(tool.parameters)), label="arguments")
        result = loop.run_until_complete(asyncio.wait_for(_invoke(registry, ctx, name, raw), 30))
        assert result is None or isinstance(result, ToolResult)
        if result is not None:
            assert result.call_id == "fuzz-1" and isinstance(result.content, str)
            assert "internal error" not in result.content
        assert _snapshot(canary) == before, (name, raw)
        assert sorted(p.name for p in tmp.iterdir()) == outside_before, (name, raw)
        assert not Path("/tmp/kwaak-fuzz-planted").exists()

    def run() -> None:
        try:
            check()
        finally:
            loop.close()

    return run


def test_fuzz_file_and_edit_tools_on_the_local_executor(
    tmp_git_repo: Path, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    canary = _setup(tmp_git_repo)
    config = make_config(commands={"test": "true", "coverage": "true"})
    ctx = _ctx(tmp_git_repo, config, LocalExecutor(tmp_git_repo))
    _fuzz(_registry(config, FILE_TOOLS), ctx, canary, tmp_path)()


@pytest.mark.sandbox
def test_fuzz_command_tools_in_the_sandbox(
    bwrap_ok: None, tmp_git_repo: Path, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    canary = _setup(tmp_git_repo)
    config = make_config(
        tool_executor="sandbox",
        commands={"test": "true", "coverage": "true"},
        limits={"tool_timeout_sec": 3},
    )
    executor = asyncio.run(SandboxExecutor.create(tmp_git_repo))
    ctx = _ctx(tmp_git_repo, config, executor)
    _fuzz(_registry(config, COMMAND_TOOLS), ctx, canary, tmp_path)()
