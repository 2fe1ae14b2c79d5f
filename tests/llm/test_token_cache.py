"""Token counts of messages are cached for many agents' long conversations (no re-encoding per step)."""

from __future__ import annotations

import importlib.util

import pytest

from kwaak.llm.tokens import TokenCounter
from kwaak.messages import AssistantMessage, ToolCall, UserMessage


@pytest.mark.skipif(importlib.util.find_spec("bpe_openai") is None, reason="the tokenizer extra is not installed")
def test_32_agents_histories_are_counted_once() -> None:
    counter = TokenCounter("gpt-4o")
    assert counter.exact
    histories = [
        [
            message
            for step in range(150)
            for message in (
                UserMessage(content=f"agent {agent} step {step}: tool output " * 5),
                AssistantMessage(content="", tool_calls=(ToolCall(id=f"c{step}", name="ls", arguments="{}"),)),
            )
        ]
        for agent in range(32)
    ]  # 9,600 messages: more than the former cache of 4,096
    first = [counter.count(history) for history in histories]
    encode = counter._encode
    encoded: list[str] = []

    def counting(text: str) -> int:
        encoded.append(text)
        assert encode is not None
        return encode(text)

    counter._encode = counting
    assert [counter.count(history) for history in histories] == first
    assert encoded == []  # every message came from the cache
    counter.count([*histories[0], UserMessage(content="a new message")])
    assert encoded == ["a new message"]


def test_a_grown_history_counts_only_its_new_messages_and_stays_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    counter = TokenCounter("gpt-4o")
    history = [UserMessage(content=f"message {i} " * 20) for i in range(300)]
    counted: list[object] = []
    real = TokenCounter._message

    def spy(self: TokenCounter, message: UserMessage, exact: bool) -> int:
        counted.append(message)
        return real(self, message, exact)

    assert counter.raw(history) == TokenCounter("gpt-4o").raw(history)
    monkeypatch.setattr(TokenCounter, "_message", spy)
    history.append(UserMessage(content="one more"))
    grown = counter.raw(history)
    assert counted == [history[-1]], "only the appended message was counted"
    assert grown == TokenCounter("gpt-4o").raw(history)
    counted.clear()
    history[150] = UserMessage(content="a much longer replacement " * 50)  # a middle message replaced
    assert counter.raw(history) == TokenCounter("gpt-4o").raw(history)
    assert counter.raw(history[:100]) == TokenCounter("gpt-4o").raw(history[:100])  # a shorter history (compaction)
