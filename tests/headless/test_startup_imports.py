"""The headless `run-agent -s` path imports nothing heavy it does not use (start-up time, issue 26)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.reliability.headless import write_config

HEAVY = (
    "textual",
    "duckdb",
    "tantivy",
    "mcp",
    "numpy",
    "torch",
    "openai",
    "anthropic",
    "tree_sitter",
    "httpx",
    "rich",
    "kwaak.executors.sandbox",
    "kwaak.git.github_app",
)
PROGRAM = """
import atexit, sys
HEAVY = {heavy!r}
atexit.register(lambda: print("HEAVY=" + ",".join(m for m in HEAVY if m in sys.modules), file=sys.stderr))
sys.argv = ["kwaak", "run-agent", "-c", {cfg!r}, "-s", "-i", "run true"]
from kwaak.cli import main
main()
"""


def test_run_agent_skip_indexing_with_scripted_models_imports_nothing_heavy(tmp_git_repo: Path) -> None:
    cfg = write_config(tmp_git_repo, [{"tool_calls": [{"name": "shell_command", "arguments": {"cmd": "true"}}]}])
    code = PROGRAM.format(heavy=HEAVY, cfg=str(cfg))
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_git_repo, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "shell_command" in proc.stdout, "the agent really ran its step"
    heavy = [line for line in proc.stderr.splitlines() if line.startswith("HEAVY=")]
    assert heavy == ["HEAVY="], proc.stderr[-2000:]


WIRE = ("openai", "anthropic", "httpx", "httpx2", "httpcore", "httpcore2")


def test_run_agent_against_an_openai_server_imports_no_sdk_and_no_httpx(tmp_git_repo: Path) -> None:
    """kwaak speaks the provider wire itself: no SDK and no httpx on the model path."""
    from tests.fakes.provider_server import FakeProviderServer, tool_call

    with FakeProviderServer() as srv:
        srv.enqueue(tool_call("shell_command", cmd="true"))
        extra = f"""
[llm.query]
provider = "OpenAI"
api_key = "text:sk-test"
base_url = "{srv.url}/v1"
prompt_model = "gpt-4o"
"""
        cfg = write_config(tmp_git_repo, [])
        text = cfg.read_text().replace('[llm.query]\nprovider = "Scripted"\n', "")
        text = "\n".join(line for line in text.splitlines() if not line.startswith("script = "))
        cfg.write_text(text + extra)
        code = PROGRAM.format(heavy=WIRE, cfg=str(cfg))
        proc = subprocess.run(
            [sys.executable, "-c", code], cwd=tmp_git_repo, capture_output=True, text=True, timeout=120, check=False
        )
        agent_requests = [r for r in srv.requests_to("openai") if r.body.get("tools")]
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert agent_requests, "the agent's requests reached the fake OpenAI server"
    assert "shell_command" in proc.stdout, "the agent really ran its step"
    heavy = [line for line in proc.stderr.splitlines() if line.startswith("HEAVY=")]
    assert heavy == ["HEAVY="], proc.stderr[-2000:]
