"""An agent's worktree edits are visible to its own searches, and only to them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from kwaak.git.workspace import create_workspace
from kwaak.index import CodeIndex
from kwaak.llm.testing import HashEmbedder
from tests.conftest import git
from tests.index.conftest import PROJECT, commit_all, write

OpenIndex = Callable[..., Any]

LOYALTY = "\n\ndef loyalty_bonus(points):\n    '''Turn loyalty points into store credit.'''\n    return points // 10\n"


async def _agent_worktree(repo: Path, tmp_path: Path, name: str = "agent-1") -> Path:
    workspace = await create_workspace(
        repo, worktrees_dir=tmp_path / "worktrees", branch=f"kwaak/{name}", session_id=name
    )
    return workspace.path


async def test_overlay_shows_modified_added_and_deleted_files(
    open_index: OpenIndex, shop_repo: Path, tmp_path: Path
) -> None:
    index: CodeIndex = await open_index(embedder=HashEmbedder(dimensions=64))
    await index.update()
    chunks_before = index.parts.lexical.num_docs()
    worktree = await _agent_worktree(shop_repo, tmp_path)
    write(worktree, {"src/shop/pricing.py": PROJECT["src/shop/pricing.py"] + LOYALTY})
    write(worktree, {"src/shop/gift_cards.py": "def redeem_gift_card(code):\n    return code.upper()\n"})
    (worktree / "src/shop/retry.py").unlink()

    hits = await index.search("loyalty_bonus", overlay=worktree)
    assert hits[0].path == "src/shop/pricing.py"
    assert "loyalty_bonus" in hits[0].symbols
    assert "def loyalty_bonus" in hits[0].content
    assert (await index.search("redeem_gift_card", overlay=worktree))[0].path == "src/shop/gift_cards.py"
    assert all(h.path != "src/shop/retry.py" for h in await index.search("with_backoff", k=50, overlay=worktree))
    files = await index.search("store credit from loyalty points", k=3, files=True, overlay=worktree)
    assert files[0].path == "src/shop/pricing.py"

    # the shared index and other searches are untouched
    assert index.parts.lexical.num_docs() == chunks_before
    plain = await index.search("loyalty_bonus", k=50)
    assert all("loyalty_bonus" not in h.content for h in plain)
    assert (await index.search("with_backoff"))[0].path == "src/shop/retry.py"


async def test_overlay_sees_the_agents_commits_and_ignores_identical_files(
    open_index: OpenIndex, shop_repo: Path, tmp_path: Path
) -> None:
    index: CodeIndex = await open_index()
    await index.update()
    worktree = await _agent_worktree(shop_repo, tmp_path)
    write(worktree, {"src/shop/pricing.py": PROJECT["src/shop/pricing.py"] + LOYALTY})
    commit_all(worktree, "agent commit")
    # touched but identical: still served from the shared index
    write(worktree, {"src/shop/cart.py": PROJECT["src/shop/cart.py"]})
    view_hits = await index.search("loyalty_bonus", overlay=worktree)
    assert view_hits[0].path == "src/shop/pricing.py"
    assert view_hits[0].content.endswith(LOYALTY.splitlines()[-1] + "\n")
    cart = await index.search("ShoppingCart", overlay=worktree)
    assert cart[0].path == "src/shop/cart.py"
    assert cart[0].start_line >= 1


async def test_two_agents_do_not_see_each_other(open_index: OpenIndex, shop_repo: Path, tmp_path: Path) -> None:
    index: CodeIndex = await open_index()
    await index.update()
    first = await _agent_worktree(shop_repo, tmp_path, "agent-a")
    second = await _agent_worktree(shop_repo, tmp_path, "agent-b")
    write(first, {"src/shop/alpha_feature.py": "def alpha_only_feature():\n    return 1\n"})
    write(second, {"src/shop/beta_feature.py": "def beta_only_feature():\n    return 2\n"})
    assert (await index.search("alpha_only_feature", overlay=first))[0].path == "src/shop/alpha_feature.py"
    assert all(h.path != "src/shop/alpha_feature.py" for h in await index.search("alpha_only_feature", overlay=second))
    assert (await index.search("beta_only_feature", overlay=second))[0].path == "src/shop/beta_feature.py"


async def test_uncommitted_user_changes_indexed_are_not_leaked_into_overlays(
    open_index: OpenIndex, shop_repo: Path, tmp_path: Path
) -> None:
    # the user's checkout has an uncommitted edit when indexing; agents branch from HEAD
    write(shop_repo, {"src/shop/tiny.py": "VERSION = '2.0-dirty'\n"})
    index: CodeIndex = await open_index()
    await index.update()
    worktree = await _agent_worktree(shop_repo, tmp_path)
    assert "dirty" in (await index.search("VERSION"))[0].content
    agent_view = await index.search("VERSION", overlay=worktree)
    assert agent_view[0].path == "src/shop/tiny.py"
    assert agent_view[0].content == PROJECT["src/shop/tiny.py"]
    git(shop_repo, "checkout", "--", "src/shop/tiny.py")
