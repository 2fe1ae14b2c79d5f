"""The code index of one repository: open it, update it, search it.

One writer per repository (an OS lock in the cache dir), any number of read-only readers. All
sessions of a kwaak process share one :class:`CodeIndex`; an agent passes its worktree as
``overlay`` to see its own edits.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import replace
from pathlib import Path
from types import TracebackType

import duckdb

from kwaak.config import Config
from kwaak.errors import IndexingError
from kwaak.index import store as db
from kwaak.index.dense import DenseIndex, FloatMatrix, IdArray, normalize
from kwaak.index.languages import LanguageSet
from kwaak.index.lexical import Analyzers, LexicalIndex
from kwaak.index.overlay import OverlayCache, OverlayView, build_view
from kwaak.index.parts import IndexParts
from kwaak.index.pipeline import ProgressCallback, Updater, needs_rebuild, rebuild_keyword_indexes
from kwaak.index.rerank import rerank
from kwaak.index.results import Hit, IndexStats
from kwaak.index.search import gather, rank_chunks, rank_files, to_hit
from kwaak.llm.base import Embedder, Model

log = logging.getLogger(__name__)


class CodeIndex:
    """Hybrid (BM25 + dense) search over a repository's code, kept up to date incrementally."""

    def __init__(self, parts: IndexParts, *, lock: db.WriterLock | None, reranker: Model | None = None) -> None:
        self.parts = parts
        self.reranker = reranker
        """The query model that reorders file searches when ``[index] rerank`` is on."""
        self._lock = lock
        self._update_lock = asyncio.Lock()
        self._overlays = OverlayCache()

    @property
    def readonly(self) -> bool:
        """Opened without the writer lock (cannot update)."""
        return self._lock is None

    @classmethod
    async def open(
        cls,
        config: Config,
        repo_root: Path,
        *,
        embedder: Embedder | None,
        readonly: bool = False,
        model: Model | None = None,
        reranker: Model | None = None,
    ) -> CodeIndex:
        """Open (or create) the index of ``repo_root`` in ``config.cache_dir``.

        Args:
            config: the configuration (languages, ``[index]`` settings, cache dir).
            repo_root: the repository's top-level directory.
            embedder: dense embeddings; ``None`` keeps the index keyword-only.
            readonly: do not take the writer lock (searching while another kwaak indexes).
            model: the indexing model, used for Q&A metadata when ``[index] qa_metadata`` is on.
            reranker: the query model, which reorders the top files of file searches when
                ``[index] rerank`` is on.

        Raises:
            IndexLocked: another kwaak holds the writer lock (when not ``readonly``).
            IndexingError: the index cannot be opened (read-only and not built yet, corrupt).
        """
        cache_dir = config.cache_dir
        lock = None
        if not readonly:
            lock = db.WriterLock(cache_dir / "index.lock")
            lock.acquire()
        try:
            parts = await asyncio.to_thread(_load, config, repo_root.resolve(), embedder, model, readonly)
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        return cls(parts, lock=lock, reranker=reranker if config.index.rerank else None)

    async def close(self) -> None:
        """Release the writer lock. The embedder and model belong to the caller."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    async def __aenter__(self) -> CodeIndex:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def update(self, progress: ProgressCallback | None = None) -> IndexStats:
        """Index what changed since the last update (everything the first time).

        Raises:
            IndexingError: the index was opened read-only, or the repository cannot be listed.
        """
        if self.readonly:
            msg = "the index was opened read-only and cannot be updated"
            raise IndexingError(msg, hint="close the other kwaak that is indexing, then retry")
        async with self._update_lock:
            stats = await Updater(self.parts, progress).run()
        self._overlays.avg_lengths.clear()
        return stats

    async def search(self, query: str, *, k: int = 10, files: bool = False, overlay: Path | None = None) -> list[Hit]:
        """The ``k`` best chunks (or files, with their best chunk) for ``query``.

        Args:
            query: an identifier, a phrase or an issue-style question.
            k: how many hits.
            files: rank files instead of chunks.
            overlay: an agent's worktree whose changed files replace the indexed versions.
        """
        if not query.strip() or k <= 0:
            return []
        view = await build_view(self.parts, overlay, self._overlays) if overlay is not None else None
        vector = await self._query_vector(query, view)
        top = self.parts.config.index.rerank_top
        if not files or self.reranker is None:
            return await asyncio.to_thread(self._rank, query, k, files, view, vector)
        hits = await asyncio.to_thread(self._rank, query, max(k, top), files, view, vector)
        return (await rerank(self.reranker, query, hits, top))[:k]

    async def _query_vector(self, query: str, view: OverlayView | None) -> FloatMatrix | None:
        embedder = self.parts.embedder
        if embedder is None or (not len(self.parts.dense) and (view is None or view.vectors is None)):
            return None
        vector: FloatMatrix = normalize(await embedder.embed([query]))[0]
        return vector

    def _rank(self, query: str, k: int, files: bool, view: OverlayView | None, vector: FloatMatrix | None) -> list[Hit]:
        parts = self.parts
        if self.readonly:
            parts.lexical.refresh()
            parts.files_lexical.refresh()
        limit = max(k * 5, 200 if files else 50)
        found = gather(parts, self._overlays, query, limit=limit, view=view, vector=vector, files=files)
        if files:
            return rank_files(found, k, max_bytes=parts.config.index.chunk_max_bytes)
        return [replace(to_hit(d, s), signals=ranks) for d, s, ranks in rank_chunks(found)[:k]]

    async def stats(self) -> dict[str, int]:
        """Files, chunks and embedded chunks in the index (for status displays)."""
        return {
            "files": len(self.parts.file_shas),
            "chunks": self.parts.lexical.num_docs(),
            "embedded": len(self.parts.dense),
        }


def _load(
    config: Config, repo_root: Path, embedder: Embedder | None, model: Model | None, readonly: bool
) -> IndexParts:
    cache_dir = config.cache_dir
    analyzers = Analyzers()
    store = db.Store(cache_dir / "index.duckdb", readonly=readonly)
    if readonly and not store.path.exists():
        msg = f"{str(repo_root)!r} has not been indexed yet"
        raise IndexingError(msg, hint="run `kwaak index` first")
    parts = IndexParts(
        config=config,
        repo_root=repo_root,
        languages=LanguageSet.from_config(config.languages),
        analyzers=analyzers,
        lexical=LexicalIndex(cache_dir / "tantivy", analyzers),
        files_lexical=LexicalIndex(cache_dir / "tantivy-files", analyzers),
        dense=DenseIndex(),
        store=store,
        embedder=embedder,
        model=model,
    )
    try:
        with store.connect(timeout=2.0 if readonly else 10.0) as con:
            _restore(parts, con)
    except IndexingError:
        if not readonly:
            raise
        log.warning("index database busy; searching keywords only", exc_info=True)
    return parts


def _restore(parts: IndexParts, con: duckdb.DuckDBPyConnection) -> None:
    files = db.load_files(con)
    parts.file_shas = {path: row.sha256 for path, row in files.items() if row.status == "ok"}
    parts.base_ref = db.get_meta(con, "base_ref") or None
    parts.dirty = frozenset(json.loads(db.get_meta(con, "dirty") or "[]"))
    embedder = parts.embedder
    if embedder is not None and db.get_meta(con, "embedder") == f"{embedder.name}:{embedder.dimensions}":
        ids, matrix = db.load_vectors(con, embedder.dimensions) if embedder.dimensions else _any_vectors(con)
        parts.dense.replace(ids, matrix)
    if not parts.store.readonly and needs_rebuild(parts, con, has_files=bool(files)):
        rebuild_keyword_indexes(parts, con)


def _any_vectors(con: duckdb.DuckDBPyConnection) -> tuple[IdArray, FloatMatrix]:
    row = db.one(con, "SELECT len(vector) FROM chunks WHERE vector IS NOT NULL LIMIT 1")
    return db.load_vectors(con, int(row[0]) if row else 0)
