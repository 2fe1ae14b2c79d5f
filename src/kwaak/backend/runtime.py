"""What all sessions of one backend share: config, models, index, team budget, parallel slots."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kwaak.agent.budget import Meter
from kwaak.config import Config
from kwaak.errors import KwaakError
from kwaak.git.workspace import default_worktrees_dir
from kwaak.llm.base import Embedder, Model
from kwaak.protocol import EventMsg, SessionId, UsageInfo

if TYPE_CHECKING:
    from kwaak.index import CodeIndex

Emit = Callable[[SessionId, EventMsg], None]
log = logging.getLogger(__name__)


@dataclass
class Models:
    """The three roles: ``indexing`` (small/fast), ``query`` (agents), ``embedding``."""

    indexing: Model
    query: Model
    embedder: Embedder | None = None

    @classmethod
    def from_config(cls, config: Config) -> Models:
        """Build the configured models (SDKs are imported lazily by the provider layer)."""
        from kwaak.llm import make_embedder, make_model

        timeout = config.limits.llm_timeout_sec
        indexing = make_model(config.llm.indexing, backoff=config.backoff, prices=config.prices, timeout=timeout)
        query = make_model(config.llm.query, backoff=config.backoff, prices=config.prices, timeout=timeout)
        try:
            embedder: Embedder | None = make_embedder(
                config.llm.embedding,
                batch_size=config.effective_indexing_batch_size,
                timeout=timeout,
                backoff=config.backoff,
            )
        except KwaakError as exc:
            # The index still works without dense vectors (lexical + symbols + paths).
            log.warning("no embedder, the index will be lexical only: %s", exc.render())
            embedder = None
        return cls(indexing=indexing, query=query, embedder=embedder)

    async def aclose(self) -> None:
        """Close provider clients."""
        await self.indexing.aclose()
        if self.query is not self.indexing:
            await self.query.aclose()
        if self.embedder is not None:
            await self.embedder.aclose()


@dataclass
class Runtime:
    """Shared services handed to every session."""

    config: Config
    repo_root: Path
    models: Models
    emit: Emit
    index: CodeIndex | None = None
    team: Meter = field(default_factory=Meter)
    slots: asyncio.Semaphore = field(init=False)
    extras: dict[str, Any] = field(default_factory=dict)
    """Extra tool services shared by all sessions (e.g. a GitHub client)."""
    interactive: bool = False
    """A user can answer approval requests (the TUI); headless runs fail safe."""
    extra_models: dict[str, Model] = field(default_factory=dict)
    """Models chosen with ``/model`` or ``--model`` besides the configured ones, by name."""
    tool_probes: set[str] = field(default_factory=set)
    """Self-hosted models already checked for tool calling."""

    def __post_init__(self) -> None:
        self.slots = asyncio.Semaphore(self.config.limits.max_parallel_agents)

    @property
    def worktrees_dir(self) -> Path:
        """Where agents' worktrees live (inside kwaak's cache dir, never in the user's repo)."""
        return default_worktrees_dir(self.config.cache_dir)


def usage_info(meter: Meter) -> UsageInfo:
    """A protocol snapshot of a meter."""
    usage = meter.usage
    return UsageInfo(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cached_tokens=usage.cached_tokens,
        cost_usd=round(usage.cost_usd, 6),
        steps=meter.steps,
        estimated=usage.estimated,
    )
