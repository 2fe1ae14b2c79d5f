"""Run the real ``kwaak run-agent`` with a scripted (hostile) model under one executor, for attack tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import git
from tests.executors.conftest import TEST_IMAGE

EXECUTORS = [
    pytest.param("local"),
    pytest.param("sandbox", marks=pytest.mark.sandbox),
    pytest.param("docker", marks=pytest.mark.docker),
]
"""``executor`` parametrization; call :func:`require_executor` in the test."""


def require_executor(executor: str, request: pytest.FixtureRequest, repo: Path) -> None:
    """Skip (loudly) when the executor cannot run here; give docker runs a Dockerfile."""
    if executor == "sandbox":
        request.getfixturevalue("bwrap_ok")
    if executor == "docker":
        request.getfixturevalue("docker_ok")
        (repo / "Dockerfile").write_text(f"FROM {TEST_IMAGE}\n")
        git(repo, "add", "Dockerfile")
        git(repo, "commit", "-q", "-m", "Dockerfile")


def shell(cmd: str) -> dict[str, Any]:
    """A script step running ``cmd`` with the shell tool."""
    return {"tool_calls": [{"name": "shell_command", "arguments": {"cmd": cmd}}]}


def call(name: str, **arguments: Any) -> dict[str, Any]:
    """A script step calling tool ``name``."""
    return {"tool_calls": [{"name": name, "arguments": arguments}]}


@dataclass
class AgentRun:
    """What one ``kwaak run-agent --output jsonl`` left behind."""

    code: int
    events: list[dict[str, Any]]
    stdout: str
    stderr: str
    base: Path

    def tool_outputs(self) -> list[str]:
        """The output of every finished tool call, in order."""
        return [str(e.get("output", "")) for e in self.events if e["type"] == "tool_call_finished"]

    def written_text(self) -> str:
        """Everything kwaak wrote: stdout, stderr, and every file under the log and cache dirs."""
        parts = [self.stdout, self.stderr]
        for root in (self.base / "logs", self.base / "cache"):
            for path in root.rglob("*") if root.is_dir() else []:
                if path.is_file() and not path.is_symlink():
                    parts.append(path.read_bytes().decode("utf-8", errors="replace"))
        return "\n".join(parts)


def run_agent(
    repo: Path,
    script: list[dict[str, Any]],
    *,
    executor: str,
    extra: str = "",
    git_table: str = "auto_push_remote = false",
    env: dict[str, str] | None = None,
    top: str = "",
    timeout: float = 240,
) -> AgentRun:
    """Write a config (Scripted models, ``executor``, no fallback) and run one headless agent to its end."""
    base = repo.parent
    script_file = base / "hostile.script.jsonl"
    script_file.write_text("".join(json.dumps(step) + "\n" for step in script))
    cfg = base / "hostile.toml"
    cfg.write_text(
        f"""
project_name = "sec-{executor}"
language = "python"
tool_executor = "{executor}"
executor_fallback = false
cache_dir = "{base / "cache"}"
log_dir = "{base / "logs"}"
{top}
[git]
generate_commit_message = false
{git_table}
[llm.indexing]
provider = "Scripted"
[llm.query]
provider = "Scripted"
script = "{script_file}"
[llm.embedding]
provider = "Scripted"
{extra}
"""
    )
    # The host process must not look like an agent command (payloads test for KWAAK_OWNER).
    full_env = {k: v for k, v in os.environ.items() if k != "KWAAK_OWNER"}
    full_env["KWAAK_LOG"] = "debug"
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "kwaak", "-c", str(cfg), "-s", "run-agent", "-i", "do the task", "--output", "jsonl"],
        cwd=repo,
        env=full_env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip().startswith("{")]
    return AgentRun(code=proc.returncode, events=events, stdout=proc.stdout, stderr=proc.stderr, base=base)


def agent_branch(repo: Path) -> str:
    """The one ``kwaak/...`` branch the run created."""
    branches = [b for b in git(repo, "branch", "--format=%(refname:short)").splitlines() if b.startswith("kwaak/")]
    assert len(branches) == 1, branches
    return branches[0]
