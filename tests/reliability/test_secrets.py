"""A full `kwaak run-agent` session with sentinel secrets everywhere, then a search for them.

Provider keys (`text:` and `env:`), the GitHub token (used for a push), a Tavily key and an MCP
server's env secret are set to unique sentinels. After the session, none may appear in the log
files, the JSONL event stream, stderr, the stored transcripts, `print-config`, the workspace's
files and git data, or the container (`docker inspect` and `env` run inside it). The MCP server
itself receives its secret: the user passed it to that process explicitly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import git
from tests.executors.conftest import TEST_IMAGE
from tests.fakes.github_server import FakeGitHub
from tests.fakes.provider_server import FakeProviderServer, tool_call
from tests.reliability.headless import Running, tool_started

MCP_SERVER = Path(__file__).resolve().parents[1] / "fakes" / "mcp_server.py"
ENV_VAR = "KWAAK_RELIABILITY_SENTINEL_KEY"


def _sentinels() -> dict[str, str]:
    tag = uuid.uuid4().hex[:10]
    return {
        name: f"{name}-SENTINEL-{tag}"
        for name in ("query", "indexing", "anthropic", "openrouter", "github", "tavily", "mcp", "envkey")
    }


def _config(
    repo: Path, s: dict[str, str], *, executor: str, query_url: str, indexing_url: str, github_url: str
) -> Path:
    cfg = repo.parent / "kwaak-secrets.toml"
    cfg.write_text(
        f"""
project_name = "secrets-{executor}"
language = "python"
tool_executor = "{executor}"
executor_fallback = false
cache_dir = "{repo.parent / "cache"}"
log_dir = "{repo.parent / "logs"}"
github_api_key = "text:{s["github"]}"
tavily_api_key = "text:{s["tavily"]}"
anthropic_api_key = "text:{s["anthropic"]}"
open_router_api_key = "text:{s["openrouter"]}"
[git]
owner = "acme"
repository = "widgets"
auto_push_remote = true
generate_commit_message = false
[github]
api_base_url = "{github_url}"
[tavily]
base_url = "http://127.0.0.1:9"
[backoff]
initial_interval_sec = 0.01
max_elapsed_time_sec = 0.2
[llm.indexing]
provider = "OpenAI"
api_key = "env:{ENV_VAR}"
base_url = "{indexing_url}/v1"
[llm.query]
provider = "OpenAI"
api_key = "text:{s["query"]}"
base_url = "{query_url}/v1"
prompt_model = "gpt-4o"
[llm.embedding]
provider = "Scripted"
[[mcp]]
name = "fake"
command = "{sys.executable}"
args = ["{MCP_SERVER}", "--stdio"]
env = {{ MCP_TOKEN = "text:{s["mcp"]}", PYTHONPATH = "text:{Path(__file__).resolve().parents[2]}" }}
"""
    )
    return cfg


def _grep_tree(root: Path, needles: list[str]) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            hits += [f"{path}: {n}" for n in needles if n.encode() in data]
    return hits


def _container_evidence(project: str) -> str:
    ids = subprocess.run(
        ["docker", "ps", "-q", "--filter", f"label=kwaak.project={project}"], capture_output=True, text=True
    ).stdout.split()
    assert ids, "the agent's container is running"
    inspect = subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True).stdout
    env = "".join(subprocess.run(["docker", "exec", i, "env"], capture_output=True, text=True).stdout for i in ids)
    assert "HOME=" in env
    return inspect + env


@pytest.mark.parametrize(
    "executor",
    [
        pytest.param("local"),
        pytest.param("sandbox", marks=pytest.mark.sandbox),
        pytest.param("docker", marks=pytest.mark.docker),
    ],
)
def test_no_secret_leaks_anywhere(tmp_git_repo: Path, executor: str, request: pytest.FixtureRequest) -> None:
    if executor != "local":
        request.getfixturevalue("bwrap_ok" if executor == "sandbox" else "docker_ok")
    s = _sentinels()
    needles = [v for k, v in s.items()]
    if executor == "docker":
        (tmp_git_repo / "Dockerfile").write_text(f"FROM {TEST_IMAGE}\n")
        git(tmp_git_repo, "add", "Dockerfile")
        git(tmp_git_repo, "commit", "-q", "-m", "Dockerfile")
    env = {**os.environ, ENV_VAR: s["envkey"], "KWAAK_LOG": "debug"}
    with FakeProviderServer() as provider, FakeProviderServer() as indexing, FakeGitHub(token=s["github"]) as github:
        provider.enqueue(
            tool_call("shell_command", cmd="env; git config --list --show-origin; cat .git"),
            tool_call("write_file", file_name="notes.txt", content="work\n"),
            tool_call("shell_command", cmd="sleep 2"),
            tool_call("stop", text="Done."),
        )
        cfg = _config(
            tmp_git_repo, s, executor=executor, query_url=provider.url, indexing_url=indexing.url, github_url=github.url
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "kwaak", "-c", str(cfg), "-s", "run-agent", "-i", "task", "--output", "jsonl"],
            cwd=tmp_git_repo,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        run = Running(proc)
        container = ""
        run.wait_for_event(lambda e: tool_started("shell_command")(e) and "sleep" in e.get("summary", ""), 180)
        if executor == "docker":
            container = _container_evidence(f"secrets-{executor}")
        code, stderr = run.finish(timeout=120)
        assert code == 0, stderr
        auth = [r.headers.get("authorization", "") for r in provider.requests]
        assert f"Bearer {s['query']}" in auth, "the sentinel keys were really used"
        assert f"Bearer {s['envkey']}" in [r.headers.get("authorization", "") for r in indexing.requests]
    printed = subprocess.run(
        [sys.executable, "-m", "kwaak", "-c", str(cfg), "print-config"],
        cwd=tmp_git_repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert printed.returncode == 0, printed.stderr
    outputs = {
        "events": json.dumps(run.events),
        "stderr": stderr,
        "print-config": printed.stdout + printed.stderr,
        "container": container,
        "git log": git(tmp_git_repo, "log", "--all", "-p"),
        "git config": git(tmp_git_repo, "config", "--list", "--show-origin"),
    }
    env_output = [e["output"] for e in run.events if e["type"] == "tool_call_finished"][0]
    assert "PATH=" in env_output, env_output[:3000]
    leaks = [f"{where}: {n}" for where, text in outputs.items() for n in needles if n in text]
    leaks += _grep_tree(tmp_git_repo.parent / "logs", needles)
    leaks += _grep_tree(tmp_git_repo.parent / "cache", needles)
    leaks += _grep_tree(tmp_git_repo / ".git", needles)
    leaks += _grep_tree(tmp_git_repo.parent / "remote.git", needles)
    assert leaks == []
    assert any((tmp_git_repo.parent / "logs").rglob("*.log")), "debug logging was on"
    assert list((tmp_git_repo.parent / "cache" / "sessions").rglob("history.jsonl")), "a transcript was stored"
