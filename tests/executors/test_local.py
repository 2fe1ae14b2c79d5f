from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kwaak.executors.base import PathOutsideWorkspace
from kwaak.executors.local import LocalExecutor
from kwaak.git.workspace import AgentWorkspace


async def test_exec_combines_output_and_reports_exit_code(workspace: AgentWorkspace) -> None:
    executor = LocalExecutor(workspace.path, extra_env={"KWAAK_TEST_VAR": "base"})
    result = await executor.exec(
        "echo out; echo err >&2; echo $KWAAK_TEST_VAR $PER_CALL; exit 3", env={"PER_CALL": "x"}
    )
    assert result.exit_code == 3 and not result.ok
    assert sorted(result.output.splitlines()) == ["base x", "err", "out"]
    argv = await executor.exec(["printf", "%s|", "a b", "$HOME"])
    assert argv.output == "a b|$HOME|", "argv commands are not interpreted by a shell"


async def test_timeout_returns_partial_output_and_kills_the_group(workspace: AgentWorkspace) -> None:
    executor = LocalExecutor(workspace.path)
    result = await executor.exec("echo first; (sleep 30; touch late-child) & sleep 30; touch late", timeout=0.5)
    assert result.timed_out and result.exit_code == 124
    assert result.output.startswith("first\n") and result.output.endswith("[command timed out]")
    await asyncio.sleep(0.2)
    assert not (workspace.path / "late").exists() and not (workspace.path / "late-child").exists()


async def test_cancellation_kills_the_process(workspace: AgentWorkspace) -> None:
    executor = LocalExecutor(workspace.path)
    task = asyncio.create_task(executor.exec("sleep 0.5; touch cancelled-late"))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.7)
    assert not (workspace.path / "cancelled-late").exists()


async def test_files_and_cwd_stay_in_the_workspace(workspace: AgentWorkspace, tmp_path: Path) -> None:
    executor = LocalExecutor(workspace.path)
    await executor.write_file("deep/new/file.txt", b"data")
    assert await executor.read_file(str(workspace.path / "deep/new/file.txt")) == b"data"
    assert (await executor.exec("pwd", cwd="deep")).output.strip() == str((workspace.path / "deep").resolve())
    (workspace.path / "escape").symlink_to(tmp_path)
    for bad in ("../x", "/etc/passwd", "escape/x"):
        with pytest.raises(PathOutsideWorkspace):
            await executor.write_file(bad, b"x")
    with pytest.raises(PathOutsideWorkspace):
        await executor.exec("true", cwd="..")
