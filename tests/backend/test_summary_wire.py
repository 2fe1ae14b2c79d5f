"""The conversation summarizer keeps every request valid for the real wire formats.

Real adapters talk to the fake provider server, which rejects (HTTP 400) any request whose tool
calls and tool results are not paired the way the OpenAI and Anthropic APIs require.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kwaak import protocol as p
from kwaak.backend import Backend, Models
from tests.fakes.provider_server import FakeProviderServer, reply, tool_call


@pytest.mark.parametrize("provider", ["OpenAI", "Anthropic"])
async def test_summaries_keep_tool_pairing_valid(make_config, tmp_git_repo: Path, provider: str) -> None:
    with FakeProviderServer() as query:
        query.enqueue(
            tool_call("shell_command", cmd="echo one"),
            tool_call("shell_command", cmd="echo two"),
            reply("# Summary\nYou echoed twice."),  # the summary after the second completion
            tool_call("shell_command", cmd="echo three"),
            tool_call("stop"),
        )
        base_url = f"{query.url}/v1" if provider == "OpenAI" else query.url
        llm = {"provider": provider, "api_key": "text:k", "base_url": base_url, "prompt_model": "model-x"}
        config = make_config(
            llm={"indexing": {"provider": "Scripted"}, "query": llm, "embedding": {"provider": "Scripted"}},
            num_completions_for_summary=1,
            backoff={"initial_interval_sec": 0.01, "max_elapsed_time_sec": 0.1},
        )
        models = Models.from_config(config)
        async with Backend(config, tmp_git_repo, models=models, buffer_events=False) as backend:
            done = await backend.run_op("s", p.Chat(message="echo three times"))
            assert done.ok, done
        api = "openai" if provider == "OpenAI" else "anthropic"
        requests = query.requests_to(api)
    bodies = [r.body for r in requests]
    assert len(bodies) == 6  # 4 agent turns + 2 summaries, every one accepted
    summary_requests = [b for b in bodies if not b.get("tools")]
    assert len(summary_requests) == 2
    after_summary = bodies[3]
    assert "You echoed twice." in str(after_summary["messages"]) and "echo three times" in str(after_summary)
    assert "echo one" not in str(after_summary["messages"])  # older turns were replaced by the summary
