"""Helpers to run the real `kwaak` CLI in a subprocess against temp repositories."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import git

SCRIPTED_CONFIG = """\
project_name = "cliproject"
language = "python"
tool_executor = "local"
cache_dir = "{cache}"
log_dir = "{logs}"

[commands]
test = "python -m pytest -q"

[git]
main_branch = "main"
auto_push_remote = false

[llm.indexing]
provider = "Scripted"

[llm.query]
provider = "Scripted"

[llm.embedding]
provider = "Scripted"
"""

Kwaak = Callable[..., subprocess.CompletedProcess[str]]


def run_kwaak(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `python -m kwaak ARGS` without a terminal."""
    return subprocess.run(
        [sys.executable, "-m", "kwaak", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def repo(tmp_git_repo: Path) -> Path:
    """`tmp_git_repo` with a committed Scripted `kwaak.toml` (cache and logs in the temp dir)."""
    text = SCRIPTED_CONFIG.format(cache=tmp_git_repo.parent / "cache", logs=tmp_git_repo.parent / "logs")
    (tmp_git_repo / "kwaak.toml").write_text(text)
    git(tmp_git_repo, "add", "kwaak.toml")
    git(tmp_git_repo, "commit", "-q", "-m", "add kwaak.toml")
    return tmp_git_repo


@pytest.fixture
def kwaak(repo: Path) -> Kwaak:
    """Run kwaak in `repo`."""

    def call(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run_kwaak(*args, cwd=repo, env=env)

    return call


def assert_one_error(proc: subprocess.CompletedProcess[str], *needles: str, code: int = 2) -> str:
    """Exit `code`, exactly one `error:` line containing every needle, a hint, no traceback."""
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0], (needle, proc.stderr)
    assert lines[-1].startswith("hint: "), proc.stderr
    assert len(lines) == 2, proc.stderr
    return errors[0]
