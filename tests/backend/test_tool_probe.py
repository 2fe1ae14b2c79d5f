"""A self-hosted model is checked for tool calling once, at the agent's start, with one tiny request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kwaak import protocol as p
from kwaak.backend import Backend, Models
from tests.fakes.provider_server import FakeProviderServer, tool_call


async def _start(make_config: Any, repo: Path, srv: FakeProviderServer) -> tuple[p.CommandCompleted, list[str]]:
    query = {"provider": "OpenAI", "base_url": f"{srv.url}/v1", "prompt_model": "local-model"}
    config = make_config(
        llm={"indexing": {"provider": "Scripted"}, "query": query, "embedding": {"provider": "Scripted"}},
        backoff={"initial_interval_sec": 0.01, "max_elapsed_time_sec": 0.1},
    )
    events: list[p.EventMsg] = []
    async with Backend(config, repo, models=Models.from_config(config), buffer_events=False) as backend:
        backend.add_listener(lambda event: events.append(event.msg))
        done = await backend.run_op("s", p.Chat(message="hello"))
        await backend.run_op("t", p.Chat(message="again"))  # a second agent: the model is not checked again
    warnings = [e.text for e in events if isinstance(e, p.SystemMessage) and e.level == "warning"]
    return done, warnings


@pytest.mark.parametrize(
    ("probe", "expected"),
    [("call", None), ("text", "may not support tool calls"), ("refuse", "--jinja")],
)
async def test_tool_calling_check(make_config, tmp_git_repo: Path, probe: str, expected: str | None) -> None:
    with FakeProviderServer(tool_probe=probe) as srv:  # type: ignore[arg-type]
        srv.enqueue(tool_call("stop"), tool_call("stop"))
        done, warnings = await _start(make_config, tmp_git_repo, srv)
        probes = srv.tool_probes
    assert done.ok, done
    assert len(probes) == 1
    if expected is None:
        assert warnings == []
    else:
        assert len(warnings) == 1 and expected in warnings[0] and "local-model" in warnings[0]


async def test_the_check_never_delays_the_first_turn(make_config, tmp_git_repo: Path) -> None:
    """A self-hosted model answers the check slowly: the agent's first request does not wait for it."""
    with FakeProviderServer(tool_probe_delay=6.0) as srv:
        srv.enqueue(tool_call("stop"), tool_call("stop"))
        done, warnings = await _start(make_config, tmp_git_repo, srv)
        first_turn = srv.requests_to("openai")[0].received_at
        (checked,) = srv.tool_probe_times
    assert done.ok, done
    assert warnings == []
    assert first_turn - checked < 4.0, "the first turn went out while the check was still waiting for its answer"
