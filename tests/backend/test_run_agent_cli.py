"""`kwaak run-agent` as a real process against a fake OpenAI-compatible provider on 127.0.0.1."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.conftest import git
from tests.fakes.provider_server import FakeProviderServer, Fault, tool_call
from tests.scripted import json_lines, run_kwaak


def _config(repo: Path, query_url: str, indexing_url: str) -> Path:
    cfg = repo.parent / "kwaak.toml"
    cfg.write_text(
        f"""
project_name = "wire"
language = "python"
tool_executor = "local"
cache_dir = "{repo.parent / "cache"}"
log_dir = "{repo.parent / "logs"}"
[commands]
test = "{sys.executable} -c 'print(42)'"
[git]
auto_push_remote = false
[backoff]
initial_interval_sec = 0.01
max_elapsed_time_sec = 0.2
[llm.indexing]
provider = "OpenAI"
api_key = "text:sk-indexing-sentinel"
base_url = "{indexing_url}/v1"
prompt_model = "gpt-4o-mini"
[llm.query]
provider = "OpenAI"
api_key = "text:sk-query-sentinel"
base_url = "{query_url}/v1"
prompt_model = "gpt-4o"
[llm.embedding]
provider = "Scripted"
"""
    )
    return cfg


def _run(repo: Path, cfg: Path, *args: str) -> tuple[int, list[dict], str]:
    proc = run_kwaak(repo, cfg, "-s", "run-agent", *args, "--output", "jsonl")
    return proc.returncode, json_lines(proc.stdout), proc.stderr


def test_jsonl_stream_and_exit_0(tmp_git_repo: Path) -> None:
    with FakeProviderServer() as query, FakeProviderServer() as indexing:
        query.enqueue(
            tool_call("write_file", text="I will add a file.", file_name="added.txt", content="from the wire\n"),
            tool_call("run_tests"),
            tool_call("stop", text="Done."),
        )
        code, events, stderr = _run(tmp_git_repo, _config(tmp_git_repo, query.url, indexing.url), "-i", "add a file")
        assert code == 0, stderr
        requests = query.requests_to("openai")
        assert len(requests) == 3
        assert requests[0].headers["authorization"] == "Bearer sk-query-sentinel"
        assert requests[0].body["model"] == "gpt-4o"
        assert {t["function"]["name"] for t in requests[0].body["tools"]} >= {"write_file", "run_tests", "stop"}
    session_ids = {e["session_id"] for e in events if e["type"] != "session_finished"} - {"system"}
    assert len(session_ids) == 1
    for event in events:
        assert {"type", "timestamp"} <= event.keys()
    types = [e["type"] for e in events]
    for expected in (
        "status_changed",
        "branch_renamed",
        "assistant_message",
        "tool_call_started",
        "tool_call_finished",
        "usage_updated",
        "committed",
        "command_completed",
    ):
        assert expected in types
    usage = [e for e in events if e["type"] == "usage_updated"][-1]
    assert usage["session"]["input_tokens"] > 0 and usage["team"]["output_tokens"] > 0
    final = events[-1]
    assert final["type"] == "session_finished" and final["exit_code"] == 0 and final["status"] == "done"
    assert git(tmp_git_repo, "show", f"{final['branch']}:added.txt") == "from the wire"
    blob = json.dumps(events) + stderr
    assert "sk-query-sentinel" not in blob and "sk-indexing-sentinel" not in blob


def test_budget_exhaustion_exits_3(tmp_git_repo: Path) -> None:
    with FakeProviderServer() as query, FakeProviderServer() as indexing:
        query.enqueue(*(tool_call("shell_command", cmd=f"echo {i}") for i in range(6)))
        cfg = _config(tmp_git_repo, query.url, indexing.url)
        code, events, _ = _run(tmp_git_repo, cfg, "-i", "loop", "--max-steps", "2")
    assert code == 3
    completed = [e for e in events if e["type"] == "command_completed"][-1]
    assert completed["error_kind"] == "budget_exhausted" and "steps limit of 2" in completed["error"]
    assert events[-1]["status"] == "budget_exhausted"


def test_provider_auth_error_exits_1_with_hint(tmp_git_repo: Path) -> None:
    with FakeProviderServer() as query, FakeProviderServer() as indexing:
        query.enqueue(Fault.http(401, "Incorrect API key provided"))
        code, events, _ = _run(tmp_git_repo, _config(tmp_git_repo, query.url, indexing.url), "-i", "hi")
    assert code == 1
    completed = [e for e in events if e["type"] == "command_completed"][-1]
    assert completed["error_kind"] == "auth" and completed["hint"]
