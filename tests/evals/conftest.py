"""Fixtures for the evaluations: a project with a scripted kwaak.toml, the CLI run in-process."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kwaak.cli import run as cli_run
from tests.conftest import git

ScriptStep = dict[str, Any]


def tool_step(name: str, text: str | None = None, **arguments: Any) -> ScriptStep:
    """One scripted model reply calling ``name``."""
    step: ScriptStep = {"tool_calls": [{"name": name, "arguments": arguments}]}
    if text:
        step["text"] = text
    return step


def write_project_config(repo: Path, *, script: Path | None = None, extra: str = "") -> Path:
    """Write ``repo/kwaak.toml`` with scripted models (the query model plays ``script``) and commit it."""
    script_line = f'script = "{script}"\n' if script else ""
    (repo / "kwaak.toml").write_text(
        f"""project_name = "evalproject"
language = "python"
tool_executor = "local"
cache_dir = "{repo.parent / "cache"}"
log_dir = "{repo.parent / "logs"}"
{extra}
[git]
auto_push_remote = false
main_branch = "main"

[llm.indexing]
provider = "Scripted"

[llm.query]
provider = "Scripted"
{script_line}
[llm.embedding]
provider = "Scripted"
""",
        encoding="utf-8",
    )
    git(repo, "add", "kwaak.toml")
    git(repo, "commit", "-q", "-m", "kwaak config")
    return repo / "kwaak.toml"


def write_script(path: Path, steps: list[ScriptStep]) -> Path:
    """Write a scripted model's replies as JSON."""
    path.write_text(json.dumps(steps, indent=2), encoding="utf-8")
    return path


@pytest.fixture
def kwaak(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run ``kwaak <args>`` in-process from ``cwd``; returns (exit code, stdout, stderr)."""

    def invoke(cwd: Path, *args: str) -> tuple[int, str, str]:
        monkeypatch.chdir(cwd)
        code = cli_run(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return invoke
