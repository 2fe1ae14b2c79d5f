"""Fixtures of the hostile-model suite: the executor under attack (local, sandbox, docker)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import git
from tests.executors.conftest import TEST_IMAGE, bwrap_ok, docker_ok  # noqa: F401 - fixtures, re-exported

EXECUTORS = [
    pytest.param("local", id="local"),
    pytest.param("sandbox", id="sandbox", marks=pytest.mark.sandbox),
    pytest.param("docker", id="docker", marks=pytest.mark.docker),
]


@pytest.fixture(params=EXECUTORS)
def executor(request: pytest.FixtureRequest, tmp_git_repo: Path) -> str:
    """The executor kind an attack runs under (skips loudly when bubblewrap or docker is missing)."""
    kind = str(request.param)
    if kind == "sandbox":
        request.getfixturevalue("bwrap_ok")
    if kind == "docker":
        request.getfixturevalue("docker_ok")
        (tmp_git_repo / "Dockerfile").write_text(f"FROM {TEST_IMAGE}\n")
        git(tmp_git_repo, "add", "Dockerfile")
        git(tmp_git_repo, "commit", "-q", "-m", "Dockerfile")
    return kind


@pytest.fixture
def host_dir(tmp_path: Path) -> Path:
    """Host files an attacker wants: a secrets file, a shell rc file, a file named like a worktree's."""
    host = tmp_path / "host"
    host.mkdir()
    (host / "secret.toml").write_text("api_key = 'HOST-SECRET-5b1e'\n")
    (host / "bashrc").write_text("# the user's shell rc\n")
    for i in range(60):
        (host / f"f{i}").write_text("HOST-SECRET-5b1e\n")
    return host
