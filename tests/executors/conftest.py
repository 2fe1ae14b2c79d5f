"""Fixtures for executor tests: a worktree per test, bubblewrap and docker availability."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kwaak.executors.sandbox import probe_bwrap
from kwaak.git.workspace import AgentWorkspace, create_workspace

TEST_IMAGE = "kwaak-test-base"


@pytest.fixture
async def workspace(tmp_git_repo: Path, tmp_path: Path) -> AgentWorkspace:
    """An agent worktree of ``tmp_git_repo`` on ``kwaak/test-1``."""
    return await create_workspace(tmp_git_repo, worktrees_dir=tmp_path / "wt", branch="kwaak/test-1", session_id="s1")


@pytest.fixture(scope="session")
def bwrap_ok() -> None:
    """Skip (loudly) when bubblewrap cannot build a sandbox on this machine."""
    reason = asyncio.run(probe_bwrap(shutil.which("bwrap")))
    if reason is not None:
        pytest.skip(f"SANDBOX TESTS SKIPPED: {reason} (run .ci/setup-docker.sh)")


@pytest.fixture(scope="session")
def docker_ok() -> Iterator[None]:
    """Skip (loudly) when no docker daemon answers or the locally built base image is missing."""
    if shutil.which("docker") is None:
        pytest.skip("DOCKER TESTS SKIPPED: the docker CLI is not installed (run .ci/setup-docker.sh)")
    version = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, timeout=30)
    if version.returncode != 0:
        pytest.skip(f"DOCKER TESTS SKIPPED: daemon unreachable: {version.stderr.decode().strip()[:200]}")
    image = subprocess.run(["docker", "image", "inspect", TEST_IMAGE], capture_output=True, timeout=30)
    if image.returncode != 0:
        pytest.skip(f"DOCKER TESTS SKIPPED: image {TEST_IMAGE!r} is missing (run .ci/setup-docker.sh)")
    yield
