"""Models that need no network: scripted replies for tests, ``kwaak demo`` and dry runs.

``ScriptedModel`` plays a list of steps (or asks a policy function) for requests that offer tools
(agent turns). Plain prompts without tools (titles, branch names, commit messages, summaries) are
answered by ``prompt_reply`` and never consume the script, so one scripted model can serve every
role. When the script runs out, the model calls ``stop`` if it is offered, else says "Kwek".
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import itertools
import json
import math
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kwaak.llm.base import Embedder, Model, ModelResponse, TextDeltaCallback
from kwaak.llm.pricing import PriceLike, cost_usd
from kwaak.messages import AssistantMessage, Message, ToolCall, ToolSpec, Usage

_ids = itertools.count(1)


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One scripted reply: optional text, tool calls as ``(name, arguments)``, optional failure."""

    text: str | None = None
    tool_calls: tuple[tuple[str, dict[str, Any] | str], ...] = ()
    delay: float = 0.0
    error: Exception | None = None
    """Raise this instead of answering (provider fault injection)."""

    def to_message(self) -> AssistantMessage:
        """The assistant message this step produces (with fresh call ids)."""
        calls = tuple(
            ToolCall(
                id=f"call_{next(_ids)}",
                name=name,
                arguments=args if isinstance(args, str) else json.dumps(args),
            )
            for name, args in self.tool_calls
        )
        return AssistantMessage(content=self.text, tool_calls=calls)


def call(name: str, **arguments: Any) -> Step:
    """A step that calls one tool."""
    return Step(tool_calls=((name, arguments),))


def say(text: str) -> Step:
    """A step that only answers with text."""
    return Step(text=text)


Policy = Callable[
    [Sequence[Message], Sequence[ToolSpec]], "AssistantMessage | Step | Awaitable[AssistantMessage | Step]"
]


def estimate_tokens(text: str) -> int:
    """A rough token count (4 characters per token)."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


def _message_text(message: Message) -> str:
    if isinstance(message, AssistantMessage):
        calls = " ".join(f"{c.name}{c.arguments}" for c in message.tool_calls)
        return (message.content or "") + calls
    return message.content


@dataclass
class ScriptedModel(Model):
    """A deterministic model driven by a script of steps or by a policy function."""

    script: list[Step | AssistantMessage] | Policy = field(default_factory=list)
    prompt_reply: str | Callable[[str], str] = "Kwek"
    delay: float = 0.0
    name: str = "scripted"
    requests: list[tuple[list[Message], list[ToolSpec]]] = field(default_factory=list)
    """Every request received (for assertions)."""
    per_conversation: bool = False
    """Replay the whole script for each conversation (keyed by the user's task) instead of sharing it."""
    price: PriceLike | None = None
    """``[prices."<name>"]`` of the scripted model: its usage then has a cost (budget tests)."""
    _cursors: dict[str, int] = field(default_factory=dict)

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        on_text_delta: TextDeltaCallback | None = None,
    ) -> ModelResponse:
        """Answer from the script (agent turns) or with ``prompt_reply`` (plain prompts)."""
        self.requests.append((list(messages), list(tools)))
        if self.delay:
            await asyncio.sleep(self.delay)
        message = await self._next(messages, tools)
        if message.content and on_text_delta is not None:
            for piece in re.findall(r"\S+\s*|\s+", message.content):
                on_text_delta(piece)
        input_tokens = sum(estimate_tokens(_message_text(m)) for m in messages)
        output_tokens = estimate_tokens(_message_text(message))
        cost = cost_usd(self.price, input_tokens=input_tokens, output_tokens=output_tokens)
        usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens, cost_usd=cost, requests=1)
        return ModelResponse(message=message, usage=usage, model=self.name, finish_reason="stop")

    async def _next(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> AssistantMessage:
        if not tools:
            last = _message_text(messages[-1]) if messages else ""
            reply = self.prompt_reply(last) if callable(self.prompt_reply) else self.prompt_reply
            return AssistantMessage(content=reply)
        if callable(self.script):
            produced = self.script(messages, tools)
            if inspect.isawaitable(produced):
                produced = await produced
            return await self._realize(produced)
        if self.per_conversation:
            key = conversation_key(messages)
            position = self._cursors.get(key, 0)
            if position < len(self.script):
                self._cursors[key] = position + 1
                return await self._realize(self.script[position])
        elif self.script:
            return await self._realize(self.script.pop(0))
        if any(t.name == "stop" for t in tools):
            return Step(tool_calls=(("stop", {}),)).to_message()
        return AssistantMessage(content="Kwek")

    @staticmethod
    async def _realize(step: Step | AssistantMessage) -> AssistantMessage:
        if isinstance(step, AssistantMessage):
            return step
        if step.delay:
            await asyncio.sleep(step.delay)
        if step.error is not None:
            raise step.error
        return step.to_message()

    @property
    def remaining(self) -> int:
        """Steps not yet played (0 for a policy)."""
        return 0 if callable(self.script) else len(self.script)


def conversation_key(messages: Sequence[Message]) -> str:
    """The user's task: the last user message before the first assistant reply."""
    key = ""
    for message in messages:
        if isinstance(message, AssistantMessage):
            break
        if message.kind == "user":
            key = message.content
    return key


def load_script(path: Path) -> list[Step]:
    """Read a script file: a JSON list, or JSON lines, of ``{"text", "tool_calls", "delay"}`` objects.

    ``tool_calls`` items are ``{"name": ..., "arguments": {...}}``.
    """
    raw = path.read_text(encoding="utf-8").strip()
    items: Iterable[Any] = (
        json.loads(raw) if raw.startswith("[") else (json.loads(line) for line in raw.splitlines() if line.strip())
    )
    steps: list[Step] = []
    for item in items:
        calls = tuple((c["name"], c.get("arguments", {})) for c in item.get("tool_calls", []))
        steps.append(Step(text=item.get("text"), tool_calls=calls, delay=float(item.get("delay", 0))))
    return steps


_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+")


@dataclass
class HashEmbedder(Embedder):
    """A deterministic bag-of-words embedder (feature hashing). No model, no network.

    Texts sharing identifiers land close together; useful for tests and as a last resort.
    """

    dimensions: int = 64
    name: str = "hash"
    batch_size: int = 256
    calls: int = 0

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Hash each token (and its lowercase sub-words) into a normalized vector."""
        self.calls += 1
        return [self._one(t) for t in texts]

    def _one(self, text: str) -> list[float]:
        vec = [0.0] * self.dimensions
        for token in _TOKEN.findall(text):
            for part in {token.lower(), *(p.lower() for p in re.split(r"_|(?<=[a-z])(?=[A-Z])", token) if p)}:
                digest = hashlib.blake2b(part.encode(), digest_size=8).digest()
                index = int.from_bytes(digest[:4], "little") % self.dimensions
                vec[index] += 1.0 if digest[4] & 1 else -1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        return [v / norm for v in vec]
