"""The index honours kwaak's per-provider concurrency/batch defaults and the garbage-collection switch."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kwaak.config import Config
from kwaak.llm.testing import HashEmbedder
from tests.index.conftest import commit_all, write


@dataclass
class SlowEmbedder(HashEmbedder):
    """Records the batch sizes it gets and how many requests run at once."""

    delay: float = 0.05
    running: int = 0
    peak: int = 0
    sizes: list[int] | None = None

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.sizes = [*(self.sizes or []), len(texts)]
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            await asyncio.sleep(self.delay)
            return await super().embed(texts)
        finally:
            self.running -= 1


def _many_files(repo: Path, n: int = 60) -> None:
    write(repo, {f"pkg/mod{i}.py": f"def function_{i}(x):\n    return x + {i}\n" for i in range(n)})
    commit_all(repo, "many")


async def test_remote_indexing_provider_gets_kwaak_defaults(
    make_config: Callable[..., Config], open_index: Callable[..., Any], shop_repo: Path
) -> None:
    _many_files(shop_repo)
    openai = {"provider": "OpenAI", "api_key": "text:sk-test", "prompt_model": "gpt-4o-mini"}
    config = make_config(llm={"indexing": openai, "query": openai, "embedding": {"provider": "Scripted"}})
    assert config.effective_indexing_concurrency == 4 * (os.cpu_count() or 1)
    assert config.effective_indexing_batch_size == 12
    embedder = SlowEmbedder(dimensions=64)
    index = await open_index(embedder=embedder, config=config)
    await index.update()
    assert embedder.sizes and max(embedder.sizes) == 12
    assert embedder.peak == min(config.effective_indexing_concurrency, len(embedder.sizes))
    assert embedder.peak > 2  # the old fixed concurrency


async def test_configured_values_win(
    make_config: Callable[..., Config], open_index: Callable[..., Any], shop_repo: Path
) -> None:
    _many_files(shop_repo)
    config = make_config(indexing_concurrency=3, indexing_batch_size=5)
    embedder = SlowEmbedder(dimensions=64)
    index = await open_index(embedder=embedder, config=config)
    await index.update()
    assert max(embedder.sizes or [0]) == 5 and embedder.peak == 3


async def test_garbage_collection_switch(
    make_config: Callable[..., Config], open_index: Callable[..., Any], shop_repo: Path
) -> None:
    keep = make_config(indexing_garbage_collection_enabled=False)
    index = await open_index(config=keep)
    await index.update()
    (shop_repo / "src/shop/retry.py").unlink()
    commit_all(shop_repo, "drop retry")
    stats = await index.update()
    assert stats.files_removed == 0
    assert any(h.path == "src/shop/retry.py" for h in await index.search("with_backoff"))
    await index.close()
    collect = await open_index(config=make_config())
    stats = await collect.update()
    assert stats.files_removed == 1
    assert not any(h.path == "src/shop/retry.py" for h in await collect.search("with_backoff"))
