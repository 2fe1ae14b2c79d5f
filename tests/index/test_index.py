"""CodeIndex end to end on a real git repo: update, incremental GC, retries, ranking."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kwaak.config import Config
from kwaak.errors import Transient
from kwaak.index import CodeIndex, IndexProgress
from kwaak.llm.testing import HashEmbedder, ScriptedModel
from tests.conftest import git
from tests.index.conftest import PROJECT, CountingEmbedder, commit_all, write

OpenIndex = Callable[..., Any]


def _db_paths(index: CodeIndex) -> set[str]:
    with index.parts.store.connect() as con:
        return {r[0] for r in con.execute("SELECT DISTINCT path FROM chunks").fetchall()}


async def test_lexical_search_works_without_embedder(open_index: OpenIndex) -> None:
    index: CodeIndex = await open_index()
    events: list[IndexProgress] = []
    stats = await index.update(events.append)
    assert stats.files_total == len(PROJECT) + 2  # + src/calc.py and tests/test_calc.py of the base repo
    assert stats.files_indexed == stats.files_total
    assert stats.chunks_total == stats.chunks_added > 0
    assert stats.pending_embeddings == stats.chunks_total
    assert not stats.dense_complete
    assert events[0].phase == "scanning"
    assert events[-1].phase == "done"
    assert any(e.phase == "chunking" and e.lexical_ready for e in events)
    hits = await index.search("apply_discount")
    assert hits[0].path == "src/shop/pricing.py"
    assert "apply_discount" in hits[0].symbols
    assert hits[0].start_line == 1


async def test_tiny_file_is_searchable(open_index: OpenIndex) -> None:
    index = await open_index()
    await index.update()
    hits = await index.search("VERSION", k=3)
    assert hits[0].path == "src/shop/tiny.py"
    assert hits[0].content == PROJECT["src/shop/tiny.py"]


async def test_symbol_query_ranks_the_definition_first(open_index: OpenIndex) -> None:
    index = await open_index(embedder=HashEmbedder(dimensions=64))
    await index.update()
    for symbol, path in (
        ("ShoppingCart", "src/shop/cart.py"),
        ("apply_discount", "src/shop/pricing.py"),
        ("with_backoff", "src/shop/retry.py"),
        ("add_item", "src/shop/cart.py"),
    ):
        hits = await index.search(symbol, k=5)
        assert hits[0].path == path, (symbol, [h.path for h in hits])
        files = await index.search(symbol, k=3, files=True)
        assert files[0].path == path


async def test_issue_style_query_finds_the_source_file(open_index: OpenIndex) -> None:
    index = await open_index()
    await index.update()
    hits = await index.search("requests should wait exponentially longer after a connection error", k=3, files=True)
    assert hits[0].path == "src/shop/retry.py"
    hits = await index.search("customers get money off big orders", k=3, files=True)
    assert hits[0].path in {"src/shop/pricing.py", "docs/pricing.md"}


async def test_docs_and_tests_are_down_weighted(open_index: OpenIndex, make_config: Callable[..., Config]) -> None:
    on = await open_index()
    await on.update()
    query = "discount threshold orders"
    ranked_on = await on.search(query, k=10, files=True)
    assert ranked_on[0].path == "src/shop/pricing.py"
    await on.close()
    off = await open_index(config=make_config(index={"downweight_non_code": False}))
    ranked_off = {h.path: h.score for h in await off.search(query, k=10, files=True)}
    scores_on = {h.path: h.score for h in ranked_on}
    for path in ("tests/test_pricing.py", "docs/pricing.md"):
        assert path in scores_on
        assert scores_on[path] < ranked_off[path]
    assert scores_on["src/shop/pricing.py"] >= ranked_off["src/shop/pricing.py"]
    # a question about tests is not penalized for finding tests
    about_tests = await on.search("which tests check the discount threshold", k=3, files=True)
    assert about_tests[0].path == "tests/test_pricing.py"


async def test_incremental_update_modify_rename_delete(open_index: OpenIndex, shop_repo: Path) -> None:
    embedder = CountingEmbedder()
    index = await open_index(embedder=embedder)
    first = await index.update()
    assert first.embedded == first.chunks_total == len(embedder.texts)
    assert first.dense_complete
    embedder.texts.clear()

    write(shop_repo, {"src/shop/pricing.py": PROJECT["src/shop/pricing.py"].replace("0.9", "0.85")})
    git(shop_repo, "mv", "src/shop/retry.py", "src/shop/backoff.py")
    (shop_repo / "src/shop/tiny.py").unlink()
    write(shop_repo, {"src/shop/shipping.py": "def shipping_cost(weight):\n    return 5 + weight * 2\n"})

    second = await index.update()
    assert (second.files_indexed, second.files_removed) == (3, 2)
    assert second.files_unchanged == first.files_total - 3  # all but pricing, retry and tiny
    embedded_paths = {t.splitlines()[0] for t in embedder.texts}
    assert embedded_paths == {"File: src/shop/pricing.py", "File: src/shop/backoff.py", "File: src/shop/shipping.py"}
    paths = _db_paths(index)
    assert "src/shop/retry.py" not in paths
    assert "src/shop/tiny.py" not in paths
    assert {"src/shop/backoff.py", "src/shop/shipping.py"} <= paths
    assert index.parts.lexical.num_docs() == second.chunks_total
    assert len(index.parts.dense) == second.chunks_total
    hits = await index.search("with_backoff")
    assert hits[0].path == "src/shop/backoff.py"
    gone = {"src/shop/retry.py", "src/shop/tiny.py"}
    assert all(h.path not in gone for h in await index.search("VERSION retry", k=50))
    assert "0.85" in (await index.search("apply_discount"))[0].content


async def test_second_update_without_changes_does_nothing(open_index: OpenIndex, shop_repo: Path) -> None:
    embedder = CountingEmbedder()
    index = await open_index(embedder=embedder)
    first = await index.update()
    calls = embedder.calls
    os.utime(shop_repo / "src/shop/cart.py")  # mtime moves, content does not
    again = await index.update()
    assert (again.files_indexed, again.files_removed, again.embedded) == (0, 0, 0)
    assert again.files_unchanged == first.files_total
    assert again.chunks_total == first.chunks_total
    assert embedder.calls == calls


async def test_unchanged_chunks_of_a_modified_file_keep_their_vectors(
    make_config: Callable[..., Config], shop_repo: Path, open_index: OpenIndex
) -> None:
    functions = "".join(f"def func_{i}(x):\n    return x * {i} + {i}  # some padding text\n\n\n" for i in range(6))
    write(shop_repo, {"src/shop/many.py": functions})
    embedder = CountingEmbedder()
    index = await open_index(embedder=embedder, config=make_config(index={"chunk_max_bytes": 101}))
    await index.update()
    many_chunks = sum(t.startswith("File: src/shop/many.py") for t in embedder.texts)
    assert many_chunks == 6
    embedder.texts.clear()
    write(shop_repo, {"src/shop/many.py": functions.replace("x * 3 + 3", "x * 3 + 33")})
    stats = await index.update()
    assert stats.embedded == 1
    assert stats.vectors_reused == many_chunks - 1
    assert "33" in embedder.texts[0]


async def test_failed_embeddings_are_retried_next_update(
    make_config: Callable[..., Config], open_index: OpenIndex
) -> None:
    embedder = CountingEmbedder(fail_first=1)
    config = make_config(indexing_concurrency=1)
    index = await open_index(embedder=embedder, config=config)
    first = await index.update()
    assert first.pending_embeddings == first.chunks_total
    assert any("embedding stopped" in e for e in first.errors)
    assert (await index.search("with_backoff"))[0].path == "src/shop/retry.py"  # keyword search still works
    second = await index.update()
    assert second.files_indexed == 0
    assert second.embedded == first.chunks_total
    assert second.dense_complete
    assert len(embedder.texts) == len(set(embedder.texts)) == first.chunks_total


async def test_qa_metadata_is_searchable_and_failures_retried(
    make_config: Callable[..., Config], open_index: OpenIndex
) -> None:
    calls = {"n": 0}

    def reply(prompt: str) -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            msg = "model overloaded"
            raise Transient(msg)
        assert "# Code" in prompt or "# Text" in prompt
        return "Q1: What does this code do?\nA1: It is part of the zanzibar subsystem."

    model = ScriptedModel(prompt_reply=reply)
    config = make_config(index={"qa_metadata": True}, indexing_concurrency=1)
    index = await open_index(embedder=CountingEmbedder(), config=config, model=model)
    first = await index.update()
    assert first.qa_generated == first.chunks_total - 1
    assert first.pending_embeddings == 1  # the chunk without Q&A waits for it
    assert await index.search("zanzibar", k=50)
    second = await index.update()
    assert second.qa_generated == 1
    assert second.dense_complete
    with index.parts.store.connect() as con:
        row = con.execute("SELECT count(*) FROM chunks WHERE qa IS NULL").fetchone()
    assert row == (0,)


async def test_embedder_change_reembeds_everything(open_index: OpenIndex) -> None:
    index = await open_index(embedder=HashEmbedder(dimensions=64))
    first = await index.update()
    await index.close()
    other = await open_index(embedder=HashEmbedder(dimensions=32, name="hash-32"))
    stats = await other.update()
    assert stats.embedded == first.chunks_total
    assert other.parts.dense.dimensions == 32


async def test_vectors_are_loaded_on_reopen(open_index: OpenIndex) -> None:
    index = await open_index(embedder=HashEmbedder(dimensions=64))
    first = await index.update()
    await index.close()
    again = await open_index(embedder=HashEmbedder(dimensions=64))
    assert len(again.parts.dense) == first.chunks_total
    assert (await again.update()).embedded == 0


async def test_keyword_index_rebuilt_from_database(open_index: OpenIndex, index_config: Config) -> None:
    index = await open_index()
    await index.update()
    await index.close()
    shutil.rmtree(index_config.cache_dir / "tantivy")
    again = await open_index()
    assert (await again.search("ShoppingCart"))[0].path == "src/shop/cart.py"


async def test_ignored_hidden_binary_and_large_files_are_skipped(
    make_config: Callable[..., Config], shop_repo: Path, open_index: OpenIndex
) -> None:
    write(
        shop_repo,
        {
            ".gitignore": "generated/\n",
            "generated/out.py": "def generated_thing(): pass\n",
            ".hidden/secret.py": "def hidden_thing(): pass\n",
            "src/.dotfile.py": "def dot_thing(): pass\n",
            "src/big.py": "def big_thing(): pass\n" + "# filler\n" * 2000,
            "src/native.c": "int c_thing(void) { return 1; }\n",
        },
    )
    (shop_repo / "src/blob.py").write_bytes(b"def binary_thing(): pass\n\0\0\0")
    index = await open_index(config=make_config(index={"max_file_bytes": 10_000}))
    await index.update()
    indexed = set(index.parts.file_shas)
    assert "src/shop/cart.py" in indexed
    skipped = ("generated/out.py", ".hidden/secret.py", "src/.dotfile.py", "src/big.py", "src/blob.py", "src/native.c")
    assert not indexed.intersection(skipped)
    assert all(not p.startswith("./") for p in indexed)
    await index.close()
    multi = await open_index(config=make_config(language=["python", "c"]))
    await multi.update()
    assert "src/native.c" in multi.parts.file_shas


async def test_worktree_removed_from_index_when_ignored_later(shop_repo: Path, open_index: OpenIndex) -> None:
    index = await open_index()
    await index.update()
    write(shop_repo, {".gitignore": "src/shop/retry.py\n"})
    git(shop_repo, "rm", "-q", "--cached", "src/shop/retry.py")
    commit_all(shop_repo, "ignore retry")
    stats = await index.update()
    assert stats.files_removed == 1
    assert "src/shop/retry.py" not in _db_paths(index)


async def test_keyword_search_works_while_embedding_runs(
    make_config: Callable[..., Config], open_index: OpenIndex
) -> None:
    import asyncio

    gate = asyncio.Event()
    release = asyncio.Event()

    class SlowEmbedder(CountingEmbedder):
        async def embed(self, texts: Any) -> list[list[float]]:
            gate.set()
            await release.wait()
            return await super().embed(texts)

    index = await open_index(embedder=SlowEmbedder(), config=make_config(indexing_concurrency=1))
    seen: list[IndexProgress] = []
    update = asyncio.create_task(index.update(seen.append))
    await asyncio.wait_for(gate.wait(), timeout=30)
    assert any(p.lexical_ready for p in seen)
    assert not any(p.phase == "done" for p in seen)
    hits = await index.search("with_backoff")  # keyword results while no vector exists yet
    assert hits[0].path == "src/shop/retry.py"
    assert len(index.parts.dense) == 0
    release.set()
    stats = await asyncio.wait_for(update, timeout=30)
    assert stats.dense_complete
    assert len(index.parts.dense) == stats.chunks_total
    embedding = [p for p in seen if p.phase == "embedding"]
    assert embedding[-1].embedded == embedding[-1].to_embed == stats.chunks_total


async def test_repository_without_commits_can_be_indexed(make_config: Callable[..., Config], tmp_path: Path) -> None:
    from kwaak.config import validate_config
    from tests.conftest import base_config_data

    repo = tmp_path / "fresh"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    write(repo, {"app.py": "def main():\n    return 0\n"})
    config = validate_config(base_config_data(repo), root=repo)
    index = await CodeIndex.open(config, repo, embedder=None)
    try:
        stats = await index.update()
        assert stats.files_total == 1
        assert (await index.search("main"))[0].path == "app.py"
        assert index.parts.base_ref is None
    finally:
        await index.close()
