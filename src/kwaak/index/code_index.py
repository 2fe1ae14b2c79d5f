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
from kwaak.index.lexical import Analyzers, LexicalDoc, LexicalIndex
from kwaak.index.overlay import OverlayCache, OverlayView, build_view, score_dense, score_lexical, symbol_matches
from kwaak.index.parts import IndexParts
from kwaak.index.pipeline import ProgressCallback, Updater, _lexical_doc
from kwaak.index.ranking import Ranking, aggregate_files, kind_factors, rrf, symbol_weight
from kwaak.index.results import Hit, IndexStats
from kwaak.llm.base import Embedder, Model

log = logging.getLogger(__name__)


class CodeIndex:
    """Hybrid (BM25 + dense) search over a repository's code, kept up to date incrementally."""

    def __init__(self, parts: IndexParts, *, lock: db.WriterLock | None) -> None:
        self.parts = parts
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
    ) -> CodeIndex:
        """Open (or create) the index of ``repo_root`` in ``config.cache_dir``.

        Args:
            config: the configuration (languages, ``[index]`` settings, cache dir).
            repo_root: the repository's top-level directory.
            embedder: dense embeddings; ``None`` keeps the index keyword-only.
            readonly: do not take the writer lock (searching while another kwaak indexes).
            model: the indexing model, used for Q&A metadata when ``[index] qa_metadata`` is on.

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
        return cls(parts, lock=lock)

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
        return await asyncio.to_thread(self._rank, query, k, files, view, vector)

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
        hidden = view.hidden if view is not None else frozenset()
        limit = max(k * 5, 200 if files else 50)
        docs: dict[int, LexicalDoc] = {}

        def keep(found: list[tuple[LexicalDoc, float]], *, shared: bool = True) -> list[tuple[LexicalDoc, float]]:
            # chunks of the shared index are hidden where the overlay has its own version
            kept = [(d, s) for d, s in found if not (shared and d.path in hidden)]
            docs.update((d.id, d) for d, _ in kept)
            return kept

        lexical = keep(parts.lexical.search(query, limit=limit))
        identifiers = parts.analyzers.identifiers(query)
        symbols = keep(parts.lexical.search_symbols(identifiers, limit=50))
        dense = keep(self._dense(vector, limit)) if vector is not None else []
        if view is not None:
            lexical = _merge(lexical, keep(score_lexical(parts, self._overlays, view, query), shared=False))
            own = [(d, 1.0) for d in symbol_matches(parts, view, identifiers)]
            symbols = keep(own, shared=False) + symbols
            if vector is not None:
                dense = _merge(dense, keep(score_dense(view, vector), shared=False))
        factors = kind_factors(query, downweight=parts.config.index.downweight_non_code)
        lexical_rank = {d.id: i for i, (d, _) in enumerate(lexical)}
        symbols.sort(key=lambda item: (-factors.get(item[0].kind, 1.0), lexical_rank.get(item[0].id, limit)))
        fused = rrf(
            [
                Ranking([d.id for d, _ in lexical], 1.0),
                Ranking([d.id for d, _ in dense], 1.0),
                Ranking([d.id for d, _ in symbols], symbol_weight(query)),
            ]
        )
        scored = sorted(
            ((docs[i], score * factors.get(docs[i].kind, 1.0)) for i, score in fused.items()),
            key=lambda item: (-item[1], item[0].path, item[0].start_line),
        )
        return _file_hits(scored, k) if files else [_hit(d, s) for d, s in scored[:k]]

    def _dense(self, vector: FloatMatrix, limit: int) -> list[tuple[LexicalDoc, float]]:
        found = self.parts.dense.search(vector.tolist(), limit)
        stored = self.parts.lexical.fetch([i for i, _ in found])
        return [(stored[i], s) for i, s in found if i in stored]

    async def stats(self) -> dict[str, int]:
        """Files, chunks and embedded chunks in the index (for status displays)."""
        return {
            "files": len(self.parts.file_shas),
            "chunks": self.parts.lexical.num_docs(),
            "embedded": len(self.parts.dense),
        }


def _merge(a: list[tuple[LexicalDoc, float]], b: list[tuple[LexicalDoc, float]]) -> list[tuple[LexicalDoc, float]]:
    return sorted(a + b, key=lambda item: -item[1])


def _hit(doc: LexicalDoc, score: float) -> Hit:
    return Hit(
        path=doc.path,
        start_line=doc.start_line,
        end_line=doc.end_line,
        score=round(score, 6),
        content=doc.content,
        symbols=doc.symbols,
        language=doc.language,
        kind=doc.kind,
    )


def _file_hits(scored: list[tuple[LexicalDoc, float]], k: int) -> list[Hit]:
    best: dict[str, LexicalDoc] = {}
    for doc, _ in scored:
        best.setdefault(doc.path, doc)
    ranked = aggregate_files((d.path, s) for d, s in scored)[:k]
    return [replace(_hit(best[path], score), score=round(score, 6)) for path, score in ranked]


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
    if not parts.store.readonly and parts.lexical.num_docs() == 0 and files:
        _rebuild_lexical(parts, con)


def _any_vectors(con: duckdb.DuckDBPyConnection) -> tuple[IdArray, FloatMatrix]:
    row = db.one(con, "SELECT len(vector) FROM chunks WHERE vector IS NOT NULL LIMIT 1")
    return db.load_vectors(con, int(row[0]) if row else 0)


def _rebuild_lexical(parts: IndexParts, con: duckdb.DuckDBPyConnection) -> None:
    """Recreate the keyword index from the database (its directory was deleted or is new)."""
    log.info("rebuilding the keyword index from the database")
    rows = con.execute(
        "SELECT id, path, start_line, end_line, language, kind, symbols, context, content, qa FROM chunks"
    ).fetchall()
    with parts.lexical.writing():
        parts.lexical.clear()
        parts.lexical.add(
            _lexical_doc(
                db.ChunkRow(
                    id=int(r[0]),
                    path=str(r[1]),
                    start_line=int(r[2]),
                    end_line=int(r[3]),
                    language=str(r[4]),
                    kind=str(r[5]),
                    symbols=tuple(s for s in str(r[6] or "").split("\n") if s),
                    context=tuple(c for c in str(r[7] or "").split("\n") if c),
                    content=str(r[8]),
                    qa=r[9],
                    text_hash="",
                )
            )
            for r in rows
        )
