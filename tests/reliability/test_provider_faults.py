"""Provider faults through a real Backend, the real OpenAI/Anthropic adapters and the fake server.

Every fault is either retried per ``[backoff]`` (the turn then completes) or ends the turn with one
clear error and a hint; afterwards the session is usable (``RetryChat``) and the next request
passes the fake server's validation of tool-call/tool-result pairing (a 400 otherwise).
"""

from __future__ import annotations

import time

import pytest

from kwaak import protocol as p
from kwaak.messages import AssistantMessage, ToolResult
from tests.fakes.provider_server import FakeProviderServer, FakeToolCall, Fault, Reply, tool_call
from tests.reliability.conftest import PROVIDERS, WireBackend, failures

RETRIED = [
    pytest.param(Fault.http(429, "slow down", retry_after=0.05), id="429-retry-after"),
    pytest.param(Fault.http(500, "boom"), id="500"),
    pytest.param(Fault.http(502, "bad gateway"), id="502"),
    pytest.param(Fault.http(503, "unavailable"), id="503"),
    pytest.param(Fault.reset(), id="connection-reset"),
    pytest.param(Fault.truncate(), id="truncated-stream"),
    pytest.param(Fault.garbage(), id="invalid-json-body"),
    pytest.param(Fault.bad_utf8(), id="invalid-utf8"),
    pytest.param(Fault.stream_error(), id="overloaded-mid-stream"),
]


def _chat_requests(server: FakeProviderServer) -> list[object]:
    return [r for r in server.requests if r.api in ("openai", "anthropic")]


def _drain(server: FakeProviderServer) -> None:
    """Drop the faults the retries did not consume (how many depends on timing)."""
    while server.pending:
        server._next("openai")


def _assert_history_paired(history: list[object]) -> None:
    """Every assistant tool call is answered by exactly one tool result."""
    calls = [c.id for m in history if isinstance(m, AssistantMessage) for c in m.tool_calls]
    results = [m.call_id for m in history if isinstance(m, ToolResult)]
    assert sorted(calls) == sorted(results)


@pytest.mark.parametrize("kind", PROVIDERS)
@pytest.mark.parametrize("fault", RETRIED)
async def test_transient_fault_mid_turn_is_retried_and_turn_completes(
    kind: str, fault: Fault, wire_backend: WireBackend, provider_server: FakeProviderServer
) -> None:
    provider_server.enqueue(tool_call("shell_command", cmd="echo one"), fault, fault, tool_call("stop", text="Done."))
    backend, rec = wire_backend(kind)
    done = await backend.run_op("s", p.Chat(message="run echo"))
    assert done.ok, done
    assert provider_server.pending == 0
    # 4 chat requests: the fault twice, then the retry that the validating server accepted.
    assert len(_chat_requests(provider_server)) == 4
    assert backend._sessions["s"].status == "done"
    _assert_history_paired(backend._sessions["s"].state.history)


@pytest.mark.parametrize("kind", PROVIDERS)
async def test_hanging_provider_times_out_and_is_retried(
    kind: str, wire_backend: WireBackend, provider_server: FakeProviderServer
) -> None:
    provider_server.enqueue(Fault.hang(20), tool_call("stop"))
    backend, _ = wire_backend(kind, timeout=0.5, max_elapsed=5)
    started = time.monotonic()
    done = await backend.run_op("s", p.Chat(message="hello"))
    assert done.ok, done
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("kind", PROVIDERS)
@pytest.mark.parametrize(
    ("fault", "error_kind", "needle"),
    [
        pytest.param(Fault.http(503, "unavailable"), "transient", "HTTP 503", id="503-exhausted"),
        pytest.param(Fault.http(429, "quota", retry_after=0.01), "rate_limited", "HTTP 429", id="429-exhausted"),
        pytest.param(Fault.reset(), "transient", "connection", id="reset-exhausted"),
        pytest.param(Fault.context_too_long(), "context_too_long", "maximum context length", id="context-length"),
        pytest.param(Fault.http(401, "Incorrect API key"), "auth", "HTTP 401", id="auth"),
    ],
)
async def test_unrecovered_fault_is_one_clear_error_and_retry_chat_recovers(
    kind: str,
    fault: Fault,
    error_kind: str,
    needle: str,
    wire_backend: WireBackend,
    provider_server: FakeProviderServer,
) -> None:
    provider_server.enqueue(tool_call("shell_command", cmd="echo first"), *[fault] * 30)
    backend, rec = wire_backend(kind, max_elapsed=0.2)
    failed = await backend.run_op("s", p.Chat(message="work"))
    assert not failed.ok
    assert failed.error_kind == error_kind, failed
    assert needle in (failed.error or "")
    assert failed.hint
    assert "Traceback" not in (failed.error or "") and "sk-reliability-test" not in (failed.error or "")
    assert len(failures(rec, "s")) == 1
    session = backend._sessions["s"]
    assert session.status == "failed"
    _assert_history_paired(session.state.history)
    # The provider recovers: RetryChat redrives the failed completion; the server validates it.
    _drain(provider_server)
    provider_server.enqueue(tool_call("stop", text="Recovered."))
    before = len(_chat_requests(provider_server))
    retried = await backend.run_op("s", p.RetryChat())
    assert retried.ok, retried
    assert len(_chat_requests(provider_server)) == before + 1
    assert session.status == "done"
    _assert_history_paired(session.state.history)


@pytest.mark.parametrize("kind", PROVIDERS)
@pytest.mark.parametrize(
    ("call", "needle"),
    [
        # Anthropic's wire format only carries JSON objects: the server wraps broken JSON as {"raw": ...}.
        pytest.param(
            FakeToolCall("read_file_with_line_numbers", "{not json"),
            {"OpenAI": "failed to parse as JSON", "Anthropic": "arguments missing"},
            id="invalid-json",
        ),
        pytest.param(FakeToolCall("read_file_with_line_numbers", "[1, 2]"), "must be a JSON object", id="json-array"),
        pytest.param(FakeToolCall("read_file_with_line_numbers", {}), "arguments missing", id="missing-argument"),
        pytest.param(FakeToolCall("no_such_tool", {"x": 1}), "does not exist", id="unknown-tool"),
    ],
)
async def test_garbage_tool_calls_become_failed_results_and_the_run_continues(
    kind: str,
    call: FakeToolCall,
    needle: str | dict[str, str],
    wire_backend: WireBackend,
    provider_server: FakeProviderServer,
) -> None:
    needle = needle[kind] if isinstance(needle, dict) else needle
    provider_server.enqueue(Reply(text="Trying.", tool_calls=(call,)), tool_call("stop", text="Done."))
    backend, rec = wire_backend(kind)
    done = await backend.run_op("s", p.Chat(message="read a file"))
    assert done.ok, done
    finished = rec.of(p.ToolCallFinished, "s")
    assert not finished[0].ok and needle in finished[0].output
    # The follow-up request carried the failed result and passed the server's pairing check.
    assert len(_chat_requests(provider_server)) == 2
    _assert_history_paired(backend._sessions["s"].state.history)


@pytest.mark.parametrize("kind", PROVIDERS)
async def test_empty_replies_are_nudged_then_pause_without_breaking_history(
    kind: str, wire_backend: WireBackend, provider_server: FakeProviderServer
) -> None:
    provider_server.enqueue(Reply(text=""), Reply(text=""), Reply(text=""))
    backend, _ = wire_backend(kind)
    done = await backend.run_op("s", p.Chat(message="say nothing"))
    assert done.ok, done
    assert backend._sessions["s"].status == "idle"
    # Every follow-up request with the empty assistant turns in it was accepted by the server.
    assert len(_chat_requests(provider_server)) == 3
    provider_server.enqueue(tool_call("stop"))
    again = await backend.run_op("s", p.Chat(message="now stop"))
    assert again.ok, again
    assert len(_chat_requests(provider_server)) == 4


@pytest.mark.parametrize("kind", PROVIDERS)
async def test_many_tool_calls_in_one_reply_one_of_them_bad(
    kind: str, wire_backend: WireBackend, provider_server: FakeProviderServer
) -> None:
    calls = (
        FakeToolCall("shell_command", {"cmd": "echo a"}),
        FakeToolCall("unknown_tool", {}),
        FakeToolCall("read_file_with_line_numbers", "{{{"),
        FakeToolCall("read_file_with_line_numbers", {"file_name": "hello.txt"}),
    )
    provider_server.enqueue(Reply(tool_calls=calls), tool_call("stop"))
    backend, rec = wire_backend(kind)
    done = await backend.run_op("s", p.Chat(message="many"))
    assert done.ok, done
    oks = [m.ok for m in rec.of(p.ToolCallFinished, "s")][:4]
    assert sorted(oks) == [False, False, True, True]
    _assert_history_paired(backend._sessions["s"].state.history)
