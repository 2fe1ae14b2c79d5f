"""The fake provider server: defaults, script files, validation, recording, and its CLI."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.fakes.provider_server import FakeProviderServer, Fault, reply, tool_call

REPO_ROOT = Path(__file__).resolve().parents[2]


def post(srv: FakeProviderServer, path: str, body: object) -> httpx.Response:
    return httpx.post(srv.url + path, json=body, timeout=5)


def test_default_reply_is_kwek_or_stop(provider_server: FakeProviderServer) -> None:
    plain = post(
        provider_server, "/v1/chat/completions", {"model": "m", "messages": [{"role": "user", "content": "x"}]}
    )
    assert plain.json()["choices"][0]["message"]["content"] == "Kwek"
    tools = [{"type": "function", "function": {"name": "stop", "parameters": {"type": "object", "properties": {}}}}]
    stop = post(
        provider_server,
        "/v1/chat/completions",
        {"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": tools},
    )
    (call,) = stop.json()["choices"][0]["message"]["tool_calls"]
    assert call["function"]["name"] == "stop"
    anthropic_stop = post(
        provider_server,
        "/v1/messages",
        {"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "tools": [{"name": "stop"}]},
    )
    assert anthropic_stop.json()["content"][0]["name"] == "stop"


def test_script_is_consumed_in_order_and_requests_recorded(provider_server: FakeProviderServer) -> None:
    provider_server.enqueue(reply("one"), tool_call("read_file", file_name="a"), Fault.http(418, "teapot"))
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
    first = post(provider_server, "/v1/chat/completions", body)
    second = post(provider_server, "/api/v1/chat/completions", body)
    third = post(provider_server, "/v1/chat/completions", body)
    assert first.json()["choices"][0]["message"]["content"] == "one"
    assert json.loads(second.json()["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]) == {
        "file_name": "a"
    }
    assert third.status_code == 418 and third.json()["error"]["message"] == "teapot"
    assert [r.path for r in provider_server.requests] == [
        "/v1/chat/completions",
        "/api/v1/chat/completions",
        "/v1/chat/completions",
    ]
    assert provider_server.requests[0].body == body
    assert provider_server.pending == 0


def test_embedding_replies_do_not_consume_chat_items(provider_server: FakeProviderServer) -> None:
    provider_server.enqueue(reply("for chat"))
    emb = post(provider_server, "/v1/embeddings", {"model": "e", "input": ["a", "b"], "dimensions": 5})
    assert [len(d["embedding"]) for d in emb.json()["data"]] == [5, 5]
    assert provider_server.pending == 1


def test_openai_pairing_violation_is_a_400(provider_server: FakeProviderServer) -> None:
    messages = [
        {"role": "user", "content": "x"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
        },
        {"role": "user", "content": "where is the tool result?"},
    ]
    response = post(provider_server, "/v1/chat/completions", {"model": "m", "messages": messages})
    assert response.status_code == 400
    assert "c1" in response.json()["error"]["message"]
    orphan = [{"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "zz", "content": "?"}]
    assert post(provider_server, "/v1/chat/completions", {"model": "m", "messages": orphan}).status_code == 400


def test_anthropic_validation_errors_use_the_anthropic_body(provider_server: FakeProviderServer) -> None:
    no_max = post(provider_server, "/v1/messages", {"model": "c", "messages": [{"role": "user", "content": "x"}]})
    assert no_max.status_code == 400
    assert no_max.json()["type"] == "error" and "max_tokens" in no_max.json()["error"]["message"]
    system_role = post(
        provider_server,
        "/v1/messages",
        {"model": "c", "max_tokens": 1, "messages": [{"role": "system", "content": "s"}]},
    )
    assert system_role.status_code == 400


def test_validation_can_be_turned_off() -> None:
    with FakeProviderServer(validate=False) as srv:
        response = post(srv, "/v1/messages", {"model": "c", "messages": [{"role": "system", "content": "s"}]})
        assert response.status_code == 200


def test_retry_after_header_and_unknown_routes(provider_server: FakeProviderServer) -> None:
    provider_server.enqueue(Fault.http(429, "slow", retry_after=3))
    limited = post(provider_server, "/v1/chat/completions", {"model": "m", "messages": []})
    assert limited.status_code == 429 and limited.headers["retry-after"] == "3"
    assert post(provider_server, "/nope", {}).status_code == 404


def test_sse_stream_ends_with_done(provider_server: FakeProviderServer) -> None:
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "x"}]}
    text = post(provider_server, "/v1/chat/completions", body).text
    events = [line.removeprefix("data: ") for line in text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    content = "".join(json.loads(e)["choices"][0]["delta"].get("content") or "" for e in events[:-1])
    assert content == "Kwek"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_runs_as_a_module_with_a_script_file(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"text": "from the script"}, {"status": 503, "message": "down"}]))
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.provider_server", "--port", str(port), "--script", str(script)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert "listening on" in proc.stdout.readline()
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
        first = httpx.post(url, json=body, timeout=5)
        assert first.json()["choices"][0]["message"]["content"] == "from the script"
        assert httpx.post(url, json=body, timeout=5).status_code == 503
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_hang_is_released_when_the_server_stops() -> None:
    srv = FakeProviderServer().start()
    srv.enqueue(Fault.hang(30))
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(srv.url + "/v1/chat/completions", json={"model": "m", "messages": []}, timeout=0.3)
    srv.stop()
    assert time.monotonic() - started < 5
