"""Fixtures for index tests: a small multi-file project in a real git repo."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kwaak.config import Config
from kwaak.errors import Transient
from kwaak.index import CodeIndex
from kwaak.llm.base import Embedder
from kwaak.llm.testing import HashEmbedder
from tests.conftest import git

PROJECT: dict[str, str] = {
    "src/shop/cart.py": (
        "from shop.pricing import apply_discount\n\n\n"
        "class ShoppingCart:\n"
        '    """A customer basket holding items and their quantities."""\n\n'
        "    def __init__(self):\n        self.items = {}\n\n"
        "    def add_item(self, sku, quantity=1):\n"
        "        self.items[sku] = self.items.get(sku, 0) + quantity\n\n"
        "    def total(self, prices):\n"
        "        subtotal = sum(prices[sku] * qty for sku, qty in self.items.items())\n"
        "        return apply_discount(subtotal)\n"
    ),
    "src/shop/pricing.py": (
        "DISCOUNT_THRESHOLD = 100\n\n\n"
        "def apply_discount(amount):\n"
        '    """Take ten percent off orders above the threshold."""\n'
        "    if amount > DISCOUNT_THRESHOLD:\n        return amount * 0.9\n    return amount\n"
    ),
    "src/shop/retry.py": (
        "import time\n\n\n"
        "def with_backoff(func, attempts=5, base_delay=0.5):\n"
        '    """Call func, sleeping exponentially longer between failed attempts."""\n'
        "    for attempt in range(attempts):\n"
        "        try:\n            return func()\n"
        "        except ConnectionError:\n"
        "            time.sleep(base_delay * 2 ** attempt)\n"
        "    raise RuntimeError('gave up after retries')\n"
    ),
    "src/shop/tiny.py": "VERSION = '1.0'\n",
    "tests/test_pricing.py": (
        "from shop.pricing import apply_discount\n\n\n"
        "def test_apply_discount_above_threshold():\n    assert apply_discount(200) == 180\n\n\n"
        "def test_apply_discount_below_threshold():\n    assert apply_discount(50) == 50\n"
    ),
    "docs/pricing.md": (
        "# Pricing\n\nOrders above the threshold get a discount of ten percent, computed by "
        "apply_discount when the cart total is computed.\n"
    ),
    "README.md": "# Shop\n\nA tiny shop with a cart, pricing and retries.\n",
}


def write(repo: Path, files: dict[str, str]) -> None:
    """Write files into the repo (creating directories)."""
    for rel, text in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def commit_all(repo: Path, message: str = "change") -> None:
    """Stage everything and commit."""
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture
def shop_repo(tmp_git_repo: Path) -> Path:
    """``tmp_git_repo`` with the shop project committed."""
    write(tmp_git_repo, PROJECT)
    commit_all(tmp_git_repo, "shop")
    return tmp_git_repo


@pytest.fixture
def index_config(make_config: Callable[..., Config]) -> Config:
    """The default config (Python, downweighting on)."""
    return make_config()


@dataclass
class CountingEmbedder(Embedder):
    """A HashEmbedder that records every text it embeds and can fail its first calls."""

    fail_first: int = 0
    dimensions: int = 64
    name: str = "counting"
    batch_size: int = 8
    texts: list[str] = field(default_factory=list)
    calls: int = 0
    _inner: HashEmbedder = field(default_factory=lambda: HashEmbedder(dimensions=64))

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        if self.calls <= self.fail_first:
            msg = "embedding service unavailable (503)"
            raise Transient(msg)
        self.texts.extend(texts)
        return await self._inner.embed(texts)


@pytest.fixture
async def open_index(index_config: Config, shop_repo: Path) -> AsyncIterator[Callable[..., Any]]:
    """Open indexes on the shop repo; all are closed at the end."""
    opened: list[CodeIndex] = []

    async def factory(*, embedder: Embedder | None = None, config: Config | None = None, **kw: Any) -> CodeIndex:
        index = await CodeIndex.open(config or index_config, shop_repo, embedder=embedder, **kw)
        opened.append(index)
        return index

    yield factory
    for index in opened:
        await index.close()
