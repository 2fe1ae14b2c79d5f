"""The docker executor against a real daemon and the locally built ``kwaak-test-base`` image."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from kwaak.config import Config
from kwaak.errors import ExecutorError, ExecutorUnavailable, ImageBuildFailed
from kwaak.executors.cleanup import cleanup_containers, cleanup_leftovers, list_containers
from kwaak.executors.docker import DockerExecutor
from kwaak.executors.factory import start_executor
from kwaak.git.commit import commit_changes
from kwaak.git.workspace import AgentWorkspace, create_workspace, default_worktrees_dir, list_worktrees
from tests.conftest import base_config_data, git
from tests.executors.conftest import TEST_IMAGE
from tests.git.conftest import start_then_sigkill

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("docker_ok")]
ConfigFactory = Callable[..., Config]

CRASH_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from pathlib import Path
    from kwaak.config import validate_config
    from kwaak.executors.docker import DockerExecutor
    from kwaak.git.workspace import create_workspace, default_worktrees_dir

    async def main() -> None:
        repo, data, sid = Path(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
        config = validate_config(data, root=repo)
        ws = await create_workspace(
            repo, worktrees_dir=default_worktrees_dir(config.cache_dir), branch=f"kwaak/crash-{sid[:8]}", session_id=sid
        )
        ex = await DockerExecutor.start(config, ws.path, session_id=sid, repo_root=repo)
        print(ex.container, flush=True)
        time.sleep(600)

    asyncio.run(main())
    """
)


def _sid() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def docker_repo(tmp_git_repo: Path) -> Path:
    (tmp_git_repo / "Dockerfile").write_text(f"FROM {TEST_IMAGE}\n")
    git(tmp_git_repo, "add", "Dockerfile")
    git(tmp_git_repo, "commit", "-q", "-m", "Dockerfile")
    return tmp_git_repo


@pytest.fixture
async def container(
    docker_repo: Path, workspace: AgentWorkspace, make_config: ConfigFactory
) -> AsyncIterator[DockerExecutor]:
    config = make_config(tool_executor="docker", git={"agent_user_name": "Dock Agent"})
    executor = await DockerExecutor.start(config, workspace.path, session_id=_sid(), repo_root=docker_repo)
    yield executor
    await executor.aclose()


async def test_commands_git_and_files_inside_the_container(
    container: DockerExecutor, workspace: AgentWorkspace, make_config: ConfigFactory
) -> None:
    result = await container.exec(
        "pwd && echo hi > made-inside.txt && git status --short && git add -A && git diff --cached --name-only"
        " && rg --version | head -1 && git var GIT_AUTHOR_IDENT"
    )
    assert result.ok, result.output
    lines = result.output.splitlines()
    assert lines[0] == "/app"
    assert "?? made-inside.txt" in lines
    assert any(line.startswith("ripgrep") for line in lines)
    assert any(line.startswith("Dock Agent <") for line in lines)
    made = workspace.path / "made-inside.txt"
    assert made.read_text() == "hi\n" and made.stat().st_uid == os.getuid()

    await container.write_file("/app/sub/from-host.txt", b"from host\n")
    assert (await container.exec("cat sub/from-host.txt")).output == "from host\n"
    assert await container.read_file("made-inside.txt") == b"hi\n"
    assert (await container.exec("pwd", cwd="sub")).output.strip() == "/app/sub"
    assert (await container.exec(["sh", "-c", "echo out; echo err >&2; exit 3"])).exit_code == 3

    committed = await commit_changes(workspace.path, make_config(), run_lint=None, message_for=None)
    assert committed is not None
    assert git(workspace.repo_root, "show", f"{committed.sha}:made-inside.txt") == "hi"


async def test_container_cannot_touch_the_host_repository(container: DockerExecutor, workspace: AgentWorkspace) -> None:
    repo = workspace.repo_root
    main = git(repo, "rev-parse", "refs/heads/main")
    for cmd in (
        f"echo pwned > '{repo / '.git' / 'hooks' / 'post-commit'}'",
        f"rm -rf '{repo / '.git' / 'objects'}'",
        "echo 'gitdir: /tmp/x' > .git",
        "git checkout -q -b escape",
        "git update-ref refs/heads/main HEAD",
    ):
        await container.exec(cmd)
    assert not (repo / ".git" / "hooks" / "post-commit").exists()
    assert git(repo, "rev-parse", "refs/heads/main") == main
    assert git(workspace.path, "symbolic-ref", "HEAD") == "refs/heads/kwaak/test-1"
    assert subprocess.run(["git", "fsck", "--no-dangling"], cwd=repo, capture_output=True).returncode == 0


async def test_timeout_kills_the_process_in_the_container(container: DockerExecutor) -> None:
    result = await container.exec("echo started; sleep 37; echo late", timeout=1.5)
    assert result.timed_out and "started" in result.output and "late" not in result.output
    left = await container.exec("cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\000' ' ' | grep -c 'slee[p] 37' || true")
    assert left.output.strip() == "0"


async def test_close_removes_the_container_and_a_dead_container_is_reported(container: DockerExecutor) -> None:
    subprocess.run(["docker", "rm", "-f", container.container], check=True, capture_output=True)
    with pytest.raises(ExecutorError) as info:
        await container.exec("true")
    assert info.value.hint
    await container.aclose()
    await container.aclose()
    names = subprocess.run(["docker", "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True).stdout
    assert container.container not in names.split()


async def test_broken_dockerfile_is_the_users_error(
    docker_repo: Path, workspace: AgentWorkspace, make_config: ConfigFactory
) -> None:
    (docker_repo / "Dockerfile").write_text(f"FROM {TEST_IMAGE}\nRUN echo kwaak-build-marker && exit 7\n")
    config = make_config(tool_executor="docker", executor_fallback=True)
    warnings: list[str] = []
    with pytest.raises(ImageBuildFailed) as info:
        await start_executor(
            config, workspace.path, session_id=_sid(), repo_root=docker_repo, on_warning=warnings.append
        )
    assert "kwaak-build-marker" in info.value.message
    assert info.value.hint and "docker build" in info.value.hint
    assert warnings == [], "a failing build must not silently fall back"


async def test_missing_dockerfile(tmp_git_repo: Path, workspace: AgentWorkspace, make_config: ConfigFactory) -> None:
    config = make_config(tool_executor="docker", executor_fallback=False, docker={"dockerfile": "nope/Dockerfile"})
    with pytest.raises(ExecutorUnavailable) as info:
        await start_executor(config, workspace.path, session_id=_sid(), repo_root=tmp_git_repo, on_warning=print)
    assert "Dockerfile not found" in info.value.message and "nope/Dockerfile" in info.value.message
    assert info.value.hint and "tool_executor" in info.value.hint


async def test_cleanup_after_a_crashed_kwaak(docker_repo: Path, tmp_path: Path, make_config: ConfigFactory) -> None:
    data = base_config_data(docker_repo, tool_executor="docker")
    config = make_config(tool_executor="docker")
    script = tmp_path / "crash.py"
    script.write_text(CRASH_SCRIPT)
    crashed_sid = _sid()
    crashed = start_then_sigkill([sys.executable, str(script), str(docker_repo), json.dumps(data), crashed_sid])
    assert crashed.startswith("kwaak-")
    assert crashed in {c.name for c in await list_containers(config.project_name)}

    live_sid = _sid()
    live_ws = await create_workspace(
        docker_repo, worktrees_dir=default_worktrees_dir(config.cache_dir), branch="kwaak/live-1", session_id=live_sid
    )
    live = await DockerExecutor.start(config, live_ws.path, session_id=live_sid, repo_root=docker_repo)
    try:
        report = await cleanup_leftovers(config.project_name, docker_repo, config.cache_dir)
        assert crashed in report.containers and live.container not in report.containers
        assert [p.name for p in report.worktrees] == [crashed_sid]
        assert crashed_sid not in {w.path.name for w in await list_worktrees(docker_repo)}
        remaining = {c.name for c in await list_containers(config.project_name)}
        assert live.container in remaining and crashed not in remaining
        assert live_ws.path.exists(), "the live process's worktree survives"
        assert live.container not in await cleanup_containers(config.project_name, keep={live_sid}, include_live=True)
        assert live.container in await cleanup_containers(config.project_name, include_live=True)
    finally:
        await live.aclose()


async def test_factory_starts_docker_when_it_is_available(
    docker_repo: Path, workspace: AgentWorkspace, make_config: ConfigFactory
) -> None:
    warnings: list[str] = []
    config = make_config(tool_executor="docker")
    executor = await start_executor(
        config, workspace.path, session_id=_sid(), repo_root=docker_repo, on_warning=warnings.append
    )
    try:
        assert executor.kind == "docker" and warnings == []
        assert executor.workdir == "/app"
        assert (await executor.exec("cat hello.txt")).output == "Hello, world!\n"
    finally:
        await executor.aclose()


async def test_losing_the_daemon_is_a_clear_error(
    container: DockerExecutor, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with monkeypatch.context() as patch:
        patch.setenv("DOCKER_HOST", f"unix://{tmp_path}/gone.sock")
        with pytest.raises(ExecutorError, match="lost the docker daemon") as info:
            await container.exec("true")
    assert info.value.hint and "daemon" in info.value.hint
    assert (await container.exec("echo back")).output == "back\n"
