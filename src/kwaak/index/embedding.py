"""The embedding phase: give every chunk without a vector one, in batches, a few in flight.

Chunks keep ``vector IS NULL`` until their batch succeeds, so an embedder that fails (rate limit
after retries, auth, network) leaves the index lexical-only for those chunks and the next update
fills them in. Vectors go to DuckDB and to the in-memory matrix as each batch lands, so dense
search improves while the phase runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import duckdb
import numpy as np

from kwaak.errors import ProviderError
from kwaak.index import store as db
from kwaak.index.parts import IndexParts
from kwaak.index.results import IndexStats
from kwaak.index.texts import embed_text
from kwaak.llm.base import Embedder

log = logging.getLogger(__name__)

Report = Callable[..., None]


def _pending(con: duckdb.DuckDBPyConnection, *, need_qa: bool) -> list[tuple[int, str, str | None, str]]:
    where = "vector IS NULL" + (" AND qa IS NOT NULL" if need_qa else "")
    rows = con.execute(f"SELECT id, path, qa, content FROM chunks WHERE {where} ORDER BY id").fetchall()
    return [(int(r[0]), str(r[1]), r[2], str(r[3])) for r in rows]


async def embed_pending(parts: IndexParts, con: duckdb.DuckDBPyConnection, stats: IndexStats, report: Report) -> None:
    """Embed every chunk that has no vector yet (no-op without an embedder)."""
    embedder = parts.embedder
    if embedder is None:
        return
    need_qa = parts.config.index.qa_metadata and parts.model is not None
    pending = await asyncio.to_thread(_pending, con, need_qa=need_qa)
    if not pending:
        return
    size = parts.config.effective_indexing_batch_size
    batches = [pending[i : i + size] for i in range(0, len(pending), size)]
    queue: asyncio.Queue[list[tuple[int, str, str | None, str]]] = asyncio.Queue()
    for batch in batches:
        queue.put_nowait(batch)
    state: dict[str, Any] = {"done": 0, "failed": None}
    db_lock = asyncio.Lock()
    report("embedding", lexical_ready=True, embedded=0, to_embed=len(pending), message="Embedding code ...")

    async def worker() -> None:
        while not queue.empty() and state["failed"] is None:
            batch = queue.get_nowait()
            texts = [embed_text(path, qa, content) for _, path, qa, content in batch]
            try:
                vectors = await _embed(embedder, texts)
            except ProviderError as exc:
                state["failed"] = exc
                return
            ids = [row[0] for row in batch]
            async with db_lock:
                await asyncio.to_thread(db.set_vectors, con, ids, vectors)
            parts.dense.add(ids, vectors)
            state["done"] += len(batch)
            report("embedding", lexical_ready=True, embedded=state["done"], to_embed=len(pending))

    workers = parts.config.effective_indexing_concurrency
    async with asyncio.TaskGroup() as group:
        for _ in range(min(workers, len(batches))):
            group.create_task(worker())
    stats.embedded += int(state["done"])
    if state["failed"] is not None:
        exc: ProviderError = state["failed"]
        log.warning("embedding stopped: %s", exc)
        stats.errors.append(f"embedding stopped: {exc.message} (missing vectors are retried by the next update)")


async def _embed(embedder: Embedder, texts: list[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
    vectors = await embedder.embed(texts)
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] != len(texts):
        got = matrix.shape[0] if matrix.ndim else 0
        msg = f"embedder {embedder.name!r} returned {got} vectors for {len(texts)} texts"
        raise ProviderError(msg, hint="check the embedding model configuration")
    return matrix
