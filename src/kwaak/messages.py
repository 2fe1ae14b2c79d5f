"""Provider-neutral chat history: what the agent loop, the adapters and persistence share.

Every message is a frozen dataclass with a ``kind`` discriminator. Adapters in :mod:`kwaak.llm`
translate these to and from each provider's wire format; nothing else knows about providers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCall:
    """A tool call requested by the model; ``arguments`` is the raw JSON text the model sent."""

    id: str
    name: str
    arguments: str = "{}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemMessage:
    """The system prompt."""

    content: str
    kind: Literal["system"] = "system"


@dataclass(frozen=True, slots=True, kw_only=True)
class UserMessage:
    """A message from the user (or context injected on the user's behalf)."""

    content: str
    kind: Literal["user"] = "user"


@dataclass(frozen=True, slots=True, kw_only=True)
class AssistantMessage:
    """A model reply: text and/or tool calls."""

    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    reasoning: tuple[tuple[str, str, str], ...] = ()
    """Provider reasoning blocks to send back unchanged: ``(type, text or data, signature)`` (Anthropic
    ``thinking`` / ``redacted_thinking``, which must precede tool calls in the next request)."""
    kind: Literal["assistant"] = "assistant"


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolResult:
    """The output of one tool call, paired with the call by ``call_id``."""

    call_id: str
    name: str
    content: str
    is_error: bool = False
    exit_code: int | None = None
    """The exit code of the command a command tool ran (for people; the model reads ``content``)."""
    outcome: str | None = None
    """A short outcome for people, e.g. ``3 passed, 1 failed`` from a test runner's output."""
    kind: Literal["tool"] = "tool"


@dataclass(frozen=True, slots=True, kw_only=True)
class SummaryMessage:
    """A conversation summary; everything before the latest summary is no longer sent."""

    content: str
    kind: Literal["summary"] = "summary"


Message = SystemMessage | UserMessage | AssistantMessage | ToolResult | SummaryMessage


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
    """Token counts of one or more requests, and their cost when known."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0
    requests: int = 0
    estimated: bool = False
    """Some counts are kwaak's estimates (the server reported no usage)."""

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
            requests=self.requests + other.requests,
            estimated=self.estimated or other.estimated,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolSpec:
    """What the model is told about a tool: name, description and a JSON schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, object] = field(default_factory=lambda: {"type": "object", "properties": {}})


def messages_to_send(history: list[Message]) -> list[Message]:
    """The slice of history sent to the model: system prompt + everything from the last summary on."""
    last_summary = max((i for i, m in enumerate(history) if isinstance(m, SummaryMessage)), default=None)
    if last_summary is None:
        return list(history)
    system = [m for m in history[:last_summary] if isinstance(m, SystemMessage)]
    return system + history[last_summary:]
