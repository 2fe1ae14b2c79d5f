"""Shared fixtures: real git repositories in temp dirs, configs, scripted models."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kwaak.config import Config, validate_config

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test User",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test User",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` and return stdout (raises on failure)."""
    out = subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True, env={**os.environ, **GIT_ENV}
    )
    return out.stdout.strip()


@pytest.fixture(autouse=True, scope="session")
def _token_counts_exact() -> None:
    """Models count with the real BPE from their first request in tests (it otherwise loads in the background)."""
    from kwaak.llm.tokens import wait_for_bpe

    for encoding in ("o200k_base", "cl100k_base"):
        wait_for_bpe(encoding)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep caches, logs and git identity out of the real home directory."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    for key in list(os.environ):
        if key.startswith("KWAAK__"):
            monkeypatch.delenv(key)


@pytest.fixture
def bare_remote(tmp_path: Path) -> Path:
    """An empty bare repository to push to (HEAD → main)."""
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    return remote


@pytest.fixture
def tmp_git_repo(tmp_path: Path, bare_remote: Path) -> Iterator[Path]:
    """A git repo on ``main`` with a small Python project, one commit, and ``origin`` = a bare remote."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "hello.txt").write_text("Hello, world!\n")
    (repo / "src").mkdir()
    (repo / "src" / "calc.py").write_text('def add(a, b):\n    """Add two numbers."""\n    return a + b\n')
    (repo / "tests").mkdir()
    (repo / "tests" / "test_calc.py").write_text(
        "from src.calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
    )
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "Initial commit")
    git(repo, "remote", "add", "origin", str(bare_remote))
    git(repo, "push", "-q", "origin", "main")
    yield repo


def base_config_data(repo: Path, **overrides: Any) -> dict[str, Any]:
    """A minimal config dict for ``repo``: scripted models, local executor, no push."""
    data: dict[str, Any] = {
        "project_name": "testproject",
        "language": "python",
        "llm": {
            "indexing": {"provider": "Scripted"},
            "query": {"provider": "Scripted"},
            "embedding": {"provider": "Scripted"},
        },
        "commands": {"test": "python -m pytest -q"},
        "git": {"auto_push_remote": False, "main_branch": "main"},
        "tool_executor": "local",
        "cache_dir": str(repo.parent / "cache"),
        "log_dir": str(repo.parent / "logs"),
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


@pytest.fixture
def make_config(tmp_git_repo: Path) -> Callable[..., Config]:
    """Build a validated :class:`Config` for ``tmp_git_repo`` with overrides."""

    def factory(**overrides: Any) -> Config:
        return validate_config(base_config_data(tmp_git_repo, **overrides), root=tmp_git_repo)

    return factory
