"""The model and embedder interfaces every provider adapter implements."""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kwaak.messages import AssistantMessage, Message, ToolSpec, Usage, UserMessage

TextDeltaCallback = Callable[[str], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelResponse:
    """One model reply with its usage."""

    message: AssistantMessage
    usage: Usage
    model: str = ""
    finish_reason: str | None = None


class Model(abc.ABC):
    """A chat model. Adapters hold every provider quirk; the agent loop only sees this."""

    name: str = "model"

    @abc.abstractmethod
    async def complete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        on_text_delta: TextDeltaCallback | None = None,
    ) -> ModelResponse:
        """Send the conversation and return the reply.

        Args:
            messages: the history to send (already trimmed to the latest summary).
            tools: tool specs offered to the model.
            on_text_delta: if given, the adapter streams and calls it with each text fragment. When a
                failed attempt is retried, the fragments start over; the returned message is authoritative.

        Raises:
            kwaak.errors.ProviderError: a mapped provider failure (after retries).
        """

    async def complete_prompt(self, text: str) -> ModelResponse:
        """Single-turn request without tools: one user message; returns the reply with its usage."""
        return await self.complete([UserMessage(content=text)])

    async def prompt(self, text: str) -> str:
        """Single-turn convenience: send one user message and return the reply text."""
        response = await self.complete_prompt(text)
        return response.message.content or ""

    async def warm_up(self) -> None:  # noqa: B027 - optional hook
        """Prepare expensive resources (SDK import, client) ahead of the first request; optional."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release HTTP clients."""


class Embedder(abc.ABC):
    """Turns texts into dense vectors."""

    name: str = "embedder"
    dimensions: int = 0
    batch_size: int = 32

    @abc.abstractmethod
    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed ``texts`` (one vector each, same order).

        Raises:
            kwaak.errors.ProviderError: a mapped provider failure.
        """

    async def warm_up(self) -> None:  # noqa: B027 - optional hook
        """Load expensive resources (a local model, an SDK) ahead of the first call; optional."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release clients."""
