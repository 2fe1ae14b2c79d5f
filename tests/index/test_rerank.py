"""The optional rerank stage: the query model reorders the top files of a file search."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kwaak.config import Config
from kwaak.errors import ProviderError
from kwaak.index import CodeIndex
from kwaak.index.rerank import build_prompt, parse_order, rerank
from kwaak.index.results import Hit
from kwaak.llm.testing import ScriptedModel


def _hit(path: str) -> Hit:
    return Hit(path=path, start_line=1, end_line=2, score=0.1, content=f"# {path}\nline\n")


def test_parse_order_takes_known_paths_in_the_reply_order() -> None:
    reply = "1. `b.py`\n- a.py\n* invented.py\nb.py\nc.py is also relevant"
    assert parse_order(reply, ["a.py", "b.py", "c.py"]) == ["b.py", "a.py", "c.py"]


async def test_rerank_reorders_the_top_and_keeps_the_rest() -> None:
    hits = [_hit(p) for p in ("a.py", "b.py", "c.py", "d.py")]
    model = ScriptedModel(prompt_reply="c.py\na.py\n")
    out = await rerank(model, "why does c fail", hits, top=3)
    assert [h.path for h in out] == ["c.py", "a.py", "b.py", "d.py"]
    assert out[0].signals["rerank"] == 1 and "rerank" not in out[2].signals
    prompt = model.requests[0][0][0].content
    assert "why does c fail" in str(prompt) and "### b.py" in str(prompt) and "d.py" not in str(prompt)
    assert "### a.py" in build_prompt("q", hits[:1])


async def test_a_failing_reranker_leaves_the_fused_order() -> None:
    def boom(_: str) -> str:
        raise ProviderError("rate limited")

    hits = [_hit(p) for p in ("a.py", "b.py")]
    assert await rerank(ScriptedModel(prompt_reply=boom), "q", hits, top=20) == hits


async def test_code_index_reranks_file_searches_only_when_configured(
    shop_repo: Path, make_config: Callable[..., Config]
) -> None:
    def last_candidate(prompt: str) -> str:
        return [line[4:] for line in prompt.splitlines() if line.startswith("### ")][-1]

    model = ScriptedModel(prompt_reply=last_candidate)
    query = "the discount applied to the cart total above the threshold"
    off = await CodeIndex.open(make_config(), shop_repo, embedder=None, reranker=model)
    try:
        await off.update()
        fused = [h.path for h in await off.search(query, k=5, files=True)]
    finally:
        await off.close()
    assert len(fused) >= 3 and not model.requests  # rerank off: the model is never asked
    config = make_config(index={"rerank": True, "rerank_top": 3})
    on = await CodeIndex.open(config, shop_repo, embedder=None, reranker=model)
    try:
        files = await on.search(query, k=2, files=True)
        chunks = await on.search(query, k=3)
    finally:
        await on.close()
    assert [h.path for h in files] == [fused[2], fused[0]]
    assert files[0].signals["rerank"] == 1 and len(model.requests) == 1  # chunk searches are not reranked
    assert len(chunks) == 3
