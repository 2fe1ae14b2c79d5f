"""The fallback chain docker → sandbox → local."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from kwaak.config import Config
from kwaak.errors import ExecutorUnavailable
from kwaak.executors.factory import start_executor
from kwaak.git.workspace import AgentWorkspace

ConfigFactory = Callable[..., Config]


@pytest.fixture
def dead_docker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Point the docker CLI at a socket nobody listens on."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-daemon.sock")


@pytest.fixture
def no_bwrap(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A PATH with git, sh and docker but without bwrap."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("git", "sh", "docker"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    monkeypatch.setenv("PATH", str(bin_dir))


@pytest.mark.sandbox
@pytest.mark.usefixtures("dead_docker", "bwrap_ok")
async def test_docker_down_falls_back_to_sandbox_with_a_warning(
    tmp_git_repo: Path, workspace: AgentWorkspace, make_config: ConfigFactory
) -> None:
    (tmp_git_repo / "Dockerfile").write_text("FROM kwaak-test-base\n")
    warnings: list[str] = []
    config = make_config(tool_executor="docker")
    executor = await start_executor(
        config, workspace.path, session_id="s1", repo_root=tmp_git_repo, on_warning=warnings.append
    )
    assert executor.kind == "sandbox"
    assert len(warnings) == 1
    assert "docker executor unavailable" in warnings[0] and "no-daemon.sock" in warnings[0]
    assert "falling back to the sandbox executor" in warnings[0]
    assert (await executor.exec("git var GIT_AUTHOR_IDENT")).output.startswith("kwaak <kwaak@bosun.ai>")
    await executor.aclose()


@pytest.mark.usefixtures("dead_docker", "no_bwrap")
async def test_docker_and_sandbox_unavailable_fall_back_to_local(
    tmp_git_repo: Path, workspace: AgentWorkspace, make_config: ConfigFactory
) -> None:
    warnings: list[str] = []
    config = make_config(tool_executor="docker", git={"agent_user_name": "Local Agent"})
    executor = await start_executor(
        config, workspace.path, session_id="s1", repo_root=tmp_git_repo, on_warning=warnings.append
    )
    assert executor.kind == "local"
    assert [w.split(" executor unavailable")[0] for w in warnings] == ["docker", "sandbox"]
    assert "bwrap" in warnings[1]
    assert (await executor.exec("git var GIT_AUTHOR_IDENT")).output.startswith("Local Agent <")
    assert (await executor.exec("pwd")).output.strip() == str(workspace.path.resolve())


@pytest.mark.usefixtures("dead_docker")
async def test_no_fallback_raises(tmp_git_repo: Path, workspace: AgentWorkspace, make_config: ConfigFactory) -> None:
    (tmp_git_repo / "Dockerfile").write_text("FROM kwaak-test-base\n")
    warnings: list[str] = []
    config = make_config(tool_executor="docker", executor_fallback=False)
    with pytest.raises(ExecutorUnavailable) as info:
        await start_executor(
            config, workspace.path, session_id="s1", repo_root=tmp_git_repo, on_warning=warnings.append
        )
    assert "not reachable" in info.value.message or "not found" in info.value.message
    assert info.value.hint
    assert warnings == []


@pytest.mark.usefixtures("no_bwrap")
async def test_sandbox_without_bwrap(tmp_git_repo: Path, workspace: AgentWorkspace, make_config: ConfigFactory) -> None:
    warnings: list[str] = []
    local = await start_executor(
        make_config(tool_executor="sandbox"),
        workspace.path,
        session_id="s1",
        repo_root=tmp_git_repo,
        on_warning=warnings.append,
    )
    assert local.kind == "local" and len(warnings) == 1
    with pytest.raises(ExecutorUnavailable) as info:
        await start_executor(
            make_config(tool_executor="sandbox", executor_fallback=False),
            workspace.path,
            session_id="s1",
            repo_root=tmp_git_repo,
            on_warning=warnings.append,
        )
    assert info.value.hint and "bubblewrap" in info.value.hint


async def test_local_is_local(tmp_git_repo: Path, workspace: AgentWorkspace, make_config: ConfigFactory) -> None:
    warnings: list[str] = []
    executor = await start_executor(
        make_config(), workspace.path, session_id="s1", repo_root=tmp_git_repo, on_warning=warnings.append
    )
    assert executor.kind == "local" and warnings == []
    assert Path(executor.workdir).samefile(workspace.path)
