"""A real `kwaak run-agent` process exporting its spans over OTLP/HTTP to a receiver on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import git
from tests.fakes.provider_server import FakeProviderServer, tool_call
from tests.telemetry.otlp_receiver import OtlpReceiver, ReceivedSpan

QUERY_KEY = "sk-query-otel-sentinel"
INDEXING_KEY = "sk-indexing-otel-sentinel"
GITHUB_KEY = "ghp_otelSentinel0123456789"


def write_config(repo: Path, query_url: str, indexing_url: str) -> None:
    (repo / "kwaak.toml").write_text(
        f"""
project_name = "otel"
language = "python"
tool_executor = "local"
otel_enabled = true
github_api_key = "text:{GITHUB_KEY}"
cache_dir = "{repo.parent / "cache"}"
log_dir = "{repo.parent / "logs"}"
[git]
auto_push_remote = false
[llm.indexing]
provider = "OpenAI"
api_key = "text:{INDEXING_KEY}"
base_url = "{indexing_url}/v1"
prompt_model = "gpt-4o-mini"
[llm.query]
provider = "OpenAI"
api_key = "text:{QUERY_KEY}"
base_url = "{query_url}/v1"
prompt_model = "gpt-4o"
[llm.embedding]
provider = "Scripted"
"""
    )
    git(repo, "add", "kwaak.toml")
    git(repo, "commit", "-q", "-m", "kwaak.toml")


def parent(span: ReceivedSpan, spans: list[ReceivedSpan]) -> str | None:
    found = [s.name for s in spans if s.span_id == span.parent_span_id]
    return found[0] if found else None


def test_run_agent_exports_its_span_tree(tmp_git_repo: Path) -> None:
    with OtlpReceiver() as receiver, FakeProviderServer() as query, FakeProviderServer() as indexing:
        query.enqueue(
            tool_call("write_file", text="Adding it.", file_name="traced.txt", content="traced\n"),
            tool_call("stop", text="Done."),
        )
        write_config(tmp_git_repo, query.url, indexing.url)
        env = {
            **os.environ,
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_SERVICE_NAME": "kwaak-under-test",
            "NO_PROXY": "127.0.0.1,localhost",
        }
        proc = subprocess.run(
            [sys.executable, "-m", "kwaak", "-s", "run-agent", "-i", "add traced.txt", "--output", "jsonl"],
            cwd=tmp_git_repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr
    assert "OpenTelemetry tracing enabled" in proc.stderr
    assert receiver.paths and set(receiver.paths) == {"/v1/traces"}
    spans = receiver.spans
    names = [s.name for s in spans]
    (main,) = [s for s in spans if s.name == "main"]
    assert main.parent_span_id == "" and main.attributes["command"] == "run-agent"
    assert main.resource["service.name"] == "kwaak-under-test"
    assert len({s.trace_id for s in spans}) == 1
    chats = [s for s in spans if s.name == "command.chat"]
    assert chats and all(parent(s, spans) == "main" for s in chats)
    turns = [s for s in spans if s.name == "agent.turn"]
    assert turns and all(parent(s, spans) == "command.chat" for s in turns)
    completions = [s for s in spans if s.name == "llm.completion"]
    assert len(completions) == 2 and all(parent(s, spans) == "agent.turn" for s in completions)
    assert all(s.attributes["model"] == "gpt-4o" and s.attributes["llm.input_tokens"] > 0 for s in completions)
    assert "tool.write_file" in names and "tool.stop" in names
    (write,) = [s for s in spans if s.name == "tool.write_file"]
    assert write.attributes["tool.ok"] is True and parent(write, spans) == "agent.turn"
    raw = b"".join(receiver.bodies)
    for secret in (QUERY_KEY, INDEXING_KEY, GITHUB_KEY):
        assert secret.encode() not in raw


def test_an_unresponsive_collector_does_not_hang_exit(tmp_git_repo: Path) -> None:
    """A collector that accepts connections but never answers: exit waits about 3 s, not 10+."""
    with socket.socket() as black_hole, FakeProviderServer() as provider:
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen(8)  # the kernel accepts; nobody ever reads or replies
        write_config(tmp_git_repo, provider.url, provider.url)
        port = black_hole.getsockname()[1]
        env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}", "NO_PROXY": "127.0.0.1"}
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "kwaak", "print-config"],
            cwd=tmp_git_repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == "OpenTelemetry tracing enabled"
    assert elapsed < 9, elapsed  # the exporter alone would wait its 10 s timeout
