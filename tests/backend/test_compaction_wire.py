"""Long sessions against fake servers that enforce a context window, on both wire formats.

The fake provider refuses (HTTP 400, in the provider's own error shape) every request whose
messages exceed its window, and rejects every request whose tool calls and results are not paired
as the real APIs require. A session that only works because kwaak compacts in time, and whose
overflow errors are recovered once, passes here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kwaak import protocol as p
from kwaak.backend import Backend, Models
from kwaak.config import Config
from tests.fakes.provider_server import FakeProviderServer, Reply, reply, tool_call

BIG_OUTPUT = "python3 -c \"print('line of output ' * 400)\""  # ~6,400 characters per call
WINDOW = 9000


def _config(make_config: Any, srv: FakeProviderServer, provider: str, **llm: Any) -> Config:
    base_url = f"{srv.url}/v1" if provider == "OpenAI" else srv.url
    query = {"provider": provider, "api_key": "text:k", "base_url": base_url, "prompt_model": "model-x"} | llm
    config: Config = make_config(
        llm={"indexing": {"provider": "Scripted"}, "query": query, "embedding": {"provider": "Scripted"}},
        backoff={"initial_interval_sec": 0.01, "max_elapsed_time_sec": 0.1},
    )
    return config


async def _run(config: Config, repo: Path, message: str) -> tuple[p.CommandCompleted, list[p.EventMsg]]:
    events: list[p.EventMsg] = []
    async with Backend(config, repo, models=Models.from_config(config), buffer_events=False) as backend:
        backend.add_listener(lambda event: events.append(event.msg))
        done = await backend.run_op("s", p.Chat(message=message))
    return done, events


def _agent_bodies(srv: FakeProviderServer, api: str | None = None) -> list[dict[str, Any]]:
    """Request bodies of the agent (kwaak's tool-calling check is recorded apart, in ``tool_probes``)."""
    return [r.body for r in (srv.requests_to(api) if api else srv.requests)]


def _texts(events: list[p.EventMsg]) -> list[str]:
    return [e.text for e in events if isinstance(e, p.SystemMessage)]


@pytest.mark.parametrize("provider", ["OpenAI", "Anthropic"])
async def test_long_session_compacts_automatically_and_goes_on(make_config, tmp_git_repo: Path, provider: str) -> None:
    summary = reply("# Summary\nYou printed big outputs six times.")
    with FakeProviderServer(context_window=WINDOW, toolless_reply=summary) as srv:
        srv.enqueue(*(tool_call("shell_command", cmd=BIG_OUTPUT) for _ in range(6)))
        srv.enqueue(tool_call("shell_command", cmd="echo the-latest-step"), tool_call("stop"))
        config = _config(make_config, srv, provider, context_window=WINDOW, max_output_tokens=1000)
        done, events = await _run(config, tmp_git_repo, "print big outputs, the goal stays verbatim")
        bodies = _agent_bodies(srv, "openai" if provider == "OpenAI" else "anthropic")
    assert done.ok, done
    summaries = [b for b in bodies if not b.get("tools")]
    assert len(summaries) >= 1  # compacted (the server would have refused the history otherwise)
    assert all(len(str(b["messages"])) / 4 <= WINDOW for b in bodies)
    after = bodies[bodies.index(summaries[0]) + 1]
    sent = str(after["messages"])
    assert "You printed big outputs six times." in sent
    assert "print big outputs, the goal stays verbatim" in sent  # the task, verbatim
    assert "line of output" in sent  # the latest state (the last tool output) kept
    assert any("Compacted the conversation" in t for t in _texts(events))
    meters = [e.context for e in events if isinstance(e, p.UsageUpdated) and e.context is not None]
    assert meters and all(m.window_tokens == WINDOW for m in meters)
    assert max(m.used_tokens for m in meters) <= WINDOW
    final = [e for e in events if isinstance(e, p.StatusChanged)][-1]
    assert final.status == "done"


@pytest.mark.parametrize(
    ("provider", "shape", "named"),
    [
        ("OpenAI", "openai", "maximum context length is 6000 tokens"),
        ("Anthropic", "anthropic", "prompt is too long"),
        ("OpenAI", "llamacpp", "exceeds the available context size (6000 tokens)"),
    ],
)
async def test_provider_overflow_is_named_compacted_and_retried_once(
    make_config, tmp_git_repo: Path, provider: str, shape: str, named: str
) -> None:
    # kwaak believes the window is large; the server's real window is 6,000 tokens.
    summary = reply("# Summary\nFour big outputs.")
    with FakeProviderServer(context_window=6000, overflow=shape, toolless_reply=summary) as srv:  # type: ignore[arg-type]
        srv.enqueue(*(tool_call("shell_command", cmd=BIG_OUTPUT) for _ in range(4)), tool_call("stop"))
        config = _config(make_config, srv, provider, context_window=200_000)
        done, events = await _run(config, tmp_git_repo, "overflow me")
        bodies = _agent_bodies(srv)
    assert done.ok, done
    warnings = [t for t in _texts(events) if "context window exceeded" in t]
    assert len(warnings) == 1 and named in warnings[0] and "retrying once" in warnings[0]
    assert any(not b.get("tools") for b in bodies)  # the summary request
    assert "Four big outputs." in str(bodies[-1]["messages"])


async def test_cut_stream_after_long_prompt_is_recovered(make_config, tmp_git_repo: Path) -> None:
    # Like llama-cpp-python: no usage in streams (so kwaak cannot calibrate its counts), a tokenizer
    # that counts 30% more than kwaak's, and a stream that just ends when the prompt does not fit.
    summary = reply("# Summary\nFour big outputs.")
    with FakeProviderServer(
        context_window=9000,
        overflow="cut",
        reports_window="llamacpp",
        toolless_reply=summary,
        stream_usage=False,
        token_scale=1.3,
    ) as srv:
        srv.enqueue(*(tool_call("shell_command", cmd=BIG_OUTPUT) for _ in range(6)), tool_call("stop"))
        config = _config(make_config, srv, "OpenAI", max_output_tokens=200)
        done, events = await _run(config, tmp_git_repo, "cut me")
    assert done.ok, done
    cut = [t for t in _texts(events) if "exceeded the context window" in t]
    assert len(cut) == 1 and "ended the stream" in cut[0] and "retrying once" in cut[0]


async def test_second_overflow_fails_with_a_clear_error(make_config, tmp_git_repo: Path) -> None:
    # A task that alone exceeds the window cannot be compacted away: one retry, then a named error.
    with FakeProviderServer(context_window=300, toolless_reply=reply("# Summary\nnothing")) as srv:
        config = _config(make_config, srv, "OpenAI", context_window=200_000)
        done, _ = await _run(config, tmp_git_repo, "x " * 3000)
    assert not done.ok
    assert done.error_kind == "context_too_long"
    assert done.error is not None and "context window" in done.error


@pytest.mark.parametrize("provider", ["OpenAI", "Anthropic"])
async def test_truncated_text_is_continued_not_taken_as_complete(
    make_config, tmp_git_repo: Path, provider: str
) -> None:
    with FakeProviderServer() as srv:
        srv.enqueue(Reply(text="The first half of", truncated=True), reply(" the answer."), tool_call("stop"))
        config = _config(make_config, srv, provider)
        done, events = await _run(config, tmp_git_repo, "answer")
        bodies = _agent_bodies(srv, "openai" if provider == "OpenAI" else "anthropic")
    assert done.ok, done
    assert "cut off at the output limit" in str(bodies[1]["messages"])
    assert any("cut at the output limit" in t for t in _texts(events))


async def test_truncated_tool_call_is_not_run(make_config, tmp_git_repo: Path) -> None:
    from tests.fakes.provider_server import FakeToolCall

    cut = Reply(tool_calls=(FakeToolCall("write_file", '{"file_name": "a.py", "content": "print('),), truncated=True)
    with FakeProviderServer() as srv:
        srv.enqueue(cut, tool_call("stop"))
        config = _config(make_config, srv, "OpenAI")
        done, _ = await _run(config, tmp_git_repo, "write a file")
        second = _agent_bodies(srv, "openai")[1]["messages"]
    assert done.ok, done
    assert "arguments were cut off" in str(second[-1])
    assert not (tmp_git_repo / "a.py").exists()


async def test_replies_cut_again_and_again_end_with_an_error(make_config, tmp_git_repo: Path) -> None:
    with FakeProviderServer() as srv:
        srv.enqueue(*(Reply(text="more and more", truncated=True) for _ in range(3)))
        config = _config(make_config, srv, "OpenAI", max_output_tokens=64)
        done, _ = await _run(config, tmp_git_repo, "loop")
    assert not done.ok
    assert done.error_kind == "reply_truncated"
    assert done.error is not None and "64 tokens" in done.error


async def test_no_repeated_compaction_when_only_a_summary_is_older(make_config, tmp_git_repo: Path) -> None:
    # The system prompt and tools alone come near this tiny window: after one compaction only its
    # summary is older than the latest exchange, so kwaak sends the requests instead of summarizing
    # its own summary before every step (and never fails for want of something to compact).
    with FakeProviderServer(toolless_reply=reply("# Summary\nshort")) as srv:
        srv.enqueue(*(tool_call("shell_command", cmd=f"echo step-{i}") for i in range(3)), tool_call("stop"))
        # 2580: the tool schemas without explain_code (no index here) are ~120 tokens lighter.
        config = _config(make_config, srv, "OpenAI", context_window=2580, max_output_tokens=100)
        done, events = await _run(config, tmp_git_repo, "hi")
        bodies = _agent_bodies(srv, "openai")
    assert done.ok, done
    meters = [e.context for e in events if isinstance(e, p.UsageUpdated) and e.context is not None]
    assert min(m.used_tokens for m in meters) >= 0.85 * (2580 - 100)  # always above the threshold
    summaries = [b for b in bodies if not b.get("tools")]
    assert len(summaries) <= 2 and len(bodies) - len(summaries) == 4


async def test_a_summary_longer_than_the_conversation_is_not_used(make_config, tmp_git_repo: Path) -> None:
    verbose = reply("# Summary\n" + "a very long and repetitive summary " * 300)
    with FakeProviderServer(toolless_reply=verbose) as srv:
        srv.enqueue(tool_call("shell_command", cmd="echo one"), tool_call("stop"))
        config = _config(make_config, srv, "OpenAI", context_window=2700, max_output_tokens=100)
        done, events = await _run(config, tmp_git_repo, "hi")
        bodies = _agent_bodies(srv, "openai")
    assert done.ok, done
    assert sum("not shorter" in t for t in _texts(events)) == 1  # not tried again at the very next step
    assert not any("Compacted the conversation" in t for t in _texts(events))
    assert all("a very long and repetitive summary" not in str(b["messages"]) for b in bodies if b.get("tools"))
