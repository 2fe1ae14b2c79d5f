"""Incremental indexing: scan → (re)chunk changed files → store + keyword index → Q&A → embed.

* A file is re-read only when its size or mtime changed, and re-chunked only when its sha256
  changed. Its row is stored with its chunks in one transaction (kwaak 0.16.2 marked files done
  *before* processing them, so a failure was never retried).
* Files that disappeared, became ignored, binary or too big lose their chunks (the garbage
  collection kwaak 0.16.2 meant to do; its ``./`` path mismatch made it a no-op).
* Keyword search is usable as soon as chunking is committed; embedding is a second phase whose
  missing vectors are filled by the next update if the embedder fails or is absent. A changed
  file's unchanged chunks keep their vectors (matched by a hash of the embedded text).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import duckdb
import numpy as np

from kwaak.index import store as db
from kwaak.index.chunking import Chunk, chunk_text
from kwaak.index.files import Skip, list_candidates, read_source, select
from kwaak.index.lexical import LexicalDoc, whole_file_doc
from kwaak.index.parts import IndexParts, git_base
from kwaak.index.qa import generate_qa
from kwaak.index.results import IndexProgress, IndexStats, Phase
from kwaak.index.texts import embed_text, text_hash

log = logging.getLogger(__name__)

ProgressCallback = Callable[[IndexProgress], None]
KEYWORD_STATE = "keyword_index"
"""Meta key: ``writing`` while the keyword indexes may lag the database (a crash then forces a rebuild)."""
_BATCH_FILES = 64


@dataclass(slots=True)
class _FileResult:
    path: str
    row: db.FileRow | None
    """``None`` when the file must leave the index (vanished, binary, too big)."""
    chunks: list[Chunk] = field(default_factory=list)
    kind: str = "code"
    changed: bool = True
    """False when only the mtime moved (same content)."""


def _process(parts: IndexParts, path: str, grammar: str, known: db.FileRow | None) -> _FileResult:
    cfg = parts.config.index
    try:
        src = read_source(parts.repo_root, path, grammar, max_bytes=cfg.max_file_bytes)
    except (Skip, FileNotFoundError):
        return _FileResult(path, None)
    except OSError as exc:
        row = db.FileRow(path=path, sha256="", size=0, mtime=0.0, status="failed", error=f"cannot read: {exc}")
        return _FileResult(path, row)
    row = db.FileRow(path=path, sha256=src.sha256, size=src.size, mtime=src.mtime, status="ok")
    if known is not None and known.status == "ok" and known.sha256 == src.sha256:
        return _FileResult(path, row, kind=src.kind, changed=False)
    try:
        chunks = chunk_text(path, src.text, grammar, max_bytes=cfg.chunk_max_bytes)
    except Exception as exc:  # a grammar bug must not stop the whole run; the file is retried later
        log.warning("chunking %s failed", path, exc_info=True)
        failed = db.FileRow(
            path=path, sha256=src.sha256, size=src.size, mtime=src.mtime, status="failed", error=str(exc)
        )
        return _FileResult(path, failed)
    return _FileResult(path, row, chunks, src.kind)


class Updater:
    """One run of :meth:`CodeIndex.update`."""

    def __init__(self, parts: IndexParts, progress: ProgressCallback | None) -> None:
        self.parts = parts
        self.progress = progress
        self.stats = IndexStats()
        self.started = time.perf_counter()
        self._files_total = 0

    def _report(self, phase: Phase, **fields: object) -> None:
        if self.progress is not None:
            self.progress(IndexProgress(phase=phase, files_total=self._files_total, **fields))  # type: ignore[arg-type]

    async def run(self) -> IndexStats:
        """Bring the index up to date with the repository's working tree."""
        self._report("scanning", message="Scanning the repository ...")
        with self.parts.store.connect() as con:
            self._check_embedder(con)
            known = db.load_files(con)
            todo, unchanged, removed = await asyncio.to_thread(self._scan, known)
            self._files_total = len(todo)
            self.stats.files_unchanged = unchanged
            if db.get_meta(con, KEYWORD_STATE) == "writing":
                await asyncio.to_thread(rebuild_keyword_indexes, self.parts, con)
            db.set_meta(con, KEYWORD_STATE, "writing")
            await self._chunk_and_store(con, todo, known, removed)
            db.set_meta(con, KEYWORD_STATE, "clean")
            self.stats.lexical_ready_sec = time.perf_counter() - self.started
            await self._remember_base(con)
            if self.parts.config.index.qa_metadata and self.parts.model is not None:
                await self._qa(con)
            await self._embed(con)
            self._totals(con)
        self.stats.total_sec = time.perf_counter() - self.started
        self._report("done", files_done=self._files_total, lexical_ready=True, message="Index up to date")
        return self.stats

    def _check_embedder(self, con: duckdb.DuckDBPyConnection) -> None:
        embedder = self.parts.embedder
        if embedder is None:
            return
        current = f"{embedder.name}:{embedder.dimensions}"
        stored = db.get_meta(con, "embedder")
        if stored is not None and stored != current:
            log.info("embedder changed (%s -> %s): dropping vectors", stored, current)
            db.run(con, "UPDATE chunks SET vector = NULL")
            self.parts.dense.clear()
        db.set_meta(con, "embedder", current)

    def _scan(self, known: dict[str, db.FileRow]) -> tuple[list[tuple[str, str]], int, list[str]]:
        """Files to (re)process, the number unchanged, and indexed files that are gone."""
        selected = select(list_candidates(self.parts.repo_root), self.parts.languages)
        todo: list[tuple[str, str]] = []
        present: set[str] = set()
        unchanged = 0
        for path, grammar in selected:
            try:
                st = (self.parts.repo_root / path).stat()
            except OSError:
                continue  # deleted but still in git's index
            present.add(path)
            row = known.get(path)
            if row is not None and row.status == "ok" and row.size == st.st_size and row.mtime == st.st_mtime:
                unchanged += 1
            else:
                todo.append((path, grammar))
        if not self.parts.config.indexing_garbage_collection_enabled:
            return todo, unchanged, []  # entries of vanished files stay until GC is on again
        return todo, unchanged, [path for path in known if path not in present]

    async def _chunk_and_store(
        self,
        con: duckdb.DuckDBPyConnection,
        todo: list[tuple[str, str]],
        known: dict[str, db.FileRow],
        removed: list[str],
    ) -> None:
        self._report("chunking", message="Starting to index your code ...")
        loop = asyncio.get_running_loop()
        next_id = db.next_chunk_id(con)
        done = 0
        with (
            ThreadPoolExecutor(max_workers=2, thread_name_prefix="kwaak-chunk") as pool,
            self.parts.lexical.writing(),
            self.parts.files_lexical.writing(),
        ):
            if removed:
                await asyncio.to_thread(self._write, con, [_FileResult(p, None) for p in removed], next_id)
            for start in range(0, len(todo), _BATCH_FILES * 2):
                window = todo[start : start + _BATCH_FILES * 2]
                halves = [window[i : i + _BATCH_FILES] for i in range(0, len(window), _BATCH_FILES)]
                jobs = [loop.run_in_executor(pool, self._process_many, half, known) for half in halves]
                results = [r for batch in await asyncio.gather(*jobs) for r in batch]
                next_id = await asyncio.to_thread(self._write, con, results, next_id)
                done += len(window)
                self._report("chunking", files_done=done, chunks=self.stats.chunks_added, message="Indexing code")
            db.set_meta(con, "next_id", str(next_id))
        self._report("chunking", files_done=done, chunks=self.stats.chunks_added, lexical_ready=True)

    def _process_many(self, batch: Sequence[tuple[str, str]], known: dict[str, db.FileRow]) -> list[_FileResult]:
        return [_process(self.parts, path, grammar, known.get(path)) for path, grammar in batch]

    def _write(self, con: duckdb.DuckDBPyConnection, results: list[_FileResult], next_id: int) -> int:
        """Store one batch of file results; returns the next free chunk id."""
        parts, stats = self.parts, self.stats
        if not parts.config.indexing_garbage_collection_enabled:
            results = [r for r in results if r.row is not None]  # binary/too big now: keep the old entry
        changed = [r for r in results if r.changed]
        db.touch_files(con, [r.row for r in results if not r.changed and r.row is not None])
        stats.files_unchanged += len(results) - len(changed)
        paths = [r.path for r in changed]
        old_ids = db.chunk_ids_of(con, paths)
        reusable = db.old_vectors(con, paths)
        rows: list[db.ChunkRow] = []
        file_docs: list[LexicalDoc] = []
        for result in changed:
            if result.row is None:
                stats.files_removed += 1
                parts.file_shas.pop(result.path, None)
                continue
            if result.row.status == "failed":
                stats.files_failed += 1
                stats.errors.append(f"{result.path}: {result.row.error}")
            else:
                stats.files_indexed += 1
            parts.file_shas[result.path] = result.row.sha256
            first = len(rows)
            for chunk in result.chunks:
                rows.append(_chunk_row(chunk, next_id, result.kind))
                next_id += 1
            whole = whole_file_doc([_lexical_doc(row) for row in rows[first:]])
            if whole is not None:
                file_docs.append(whole)
        db.replace_files(con, paths, [r.row for r in changed if r.row is not None], rows)
        self._reuse_vectors(con, rows, reusable)
        parts.dense.remove(old_ids)
        for path in paths:
            parts.lexical.delete_path(path)
            parts.files_lexical.delete_path(path)
        parts.lexical.add(_lexical_doc(row) for row in rows)
        parts.files_lexical.add(file_docs)
        stats.chunks_added += len(rows)
        stats.chunks_removed += len(old_ids)
        return next_id

    def _reuse_vectors(
        self, con: duckdb.DuckDBPyConnection, rows: list[db.ChunkRow], reusable: dict[str, list[float]]
    ) -> None:
        hits = [(row.id, reusable[row.text_hash]) for row in rows if row.text_hash in reusable]
        if not hits:
            return
        ids = [i for i, _ in hits]
        matrix = np.asarray([v for _, v in hits], dtype=np.float32)
        db.set_vectors(con, ids, matrix)
        self.parts.dense.add(ids, matrix)
        self.stats.vectors_reused += len(hits)

    async def _remember_base(self, con: duckdb.DuckDBPyConnection) -> None:
        base, dirty = await git_base(self.parts.repo_root)
        self.parts.base_ref, self.parts.dirty = base, frozenset(dirty)
        db.set_meta(con, "base_ref", base or "")
        db.set_meta(con, "dirty", json.dumps(sorted(dirty)))

    async def _qa(self, con: duckdb.DuckDBPyConnection) -> None:
        model = self.parts.model
        assert model is not None
        self._report("qa", lexical_ready=True, message="Generating questions and answers ...")
        db.set_meta(con, KEYWORD_STATE, "writing")
        self.stats.qa_generated = await generate_qa(self.parts, con, model, self.stats.errors)
        db.set_meta(con, KEYWORD_STATE, "clean")

    async def _embed(self, con: duckdb.DuckDBPyConnection) -> None:
        from kwaak.index.embedding import embed_pending

        await embed_pending(self.parts, con, self.stats, self._report)

    def _totals(self, con: duckdb.DuckDBPyConnection) -> None:
        files = db.one(con, "SELECT count(*) FROM files")
        chunks = db.one(con, "SELECT count(*), count(*) - count(vector) FROM chunks")
        self.stats.files_total = int(files[0]) if files else 0
        self.stats.chunks_total = int(chunks[0]) if chunks else 0
        self.stats.pending_embeddings = int(chunks[1]) if chunks else 0


def _chunk_row(chunk: Chunk, chunk_id: int, kind: str) -> db.ChunkRow:
    return db.ChunkRow(
        id=chunk_id,
        path=chunk.path,
        start_line=chunk.start_line,
        end_line=chunk.end_line,
        language=chunk.language,
        kind=kind,
        symbols=chunk.symbols,
        context=chunk.context,
        content=chunk.content,
        qa=None,
        text_hash=text_hash(embed_text(chunk.path, None, chunk.content)),
    )


def _lexical_doc(row: db.ChunkRow) -> LexicalDoc:
    return LexicalDoc(
        id=row.id,
        path=row.path,
        start_line=row.start_line,
        end_line=row.end_line,
        language=row.language,
        kind=row.kind,
        symbols=row.symbols,
        context=row.context,
        content=row.content,
        qa=row.qa or "",
    )


def needs_rebuild(parts: IndexParts, con: duckdb.DuckDBPyConnection, *, has_files: bool) -> bool:
    """Whether the keyword indexes may disagree with the database (deleted, or a crash mid-write)."""
    if db.get_meta(con, KEYWORD_STATE) == "writing":
        return True
    return has_files and (parts.lexical.num_docs() == 0 or parts.files_lexical.num_docs() == 0)


def rebuild_keyword_indexes(parts: IndexParts, con: duckdb.DuckDBPyConnection) -> None:
    """Recreate both keyword indexes from the database, the source of truth."""
    log.info("rebuilding the keyword index from the database")
    rows = con.execute(
        "SELECT id, path, start_line, end_line, language, kind, symbols, context, content, qa FROM chunks "
        "ORDER BY path, start_line"
    ).fetchall()
    docs = [
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
    ]
    by_path: dict[str, list[LexicalDoc]] = {}
    for doc in docs:
        by_path.setdefault(doc.path, []).append(doc)
    with parts.lexical.writing(), parts.files_lexical.writing():
        parts.lexical.clear()
        parts.lexical.add(docs)
        parts.files_lexical.clear()
        parts.files_lexical.add(d for chunks in by_path.values() if (d := whole_file_doc(chunks)) is not None)
    db.set_meta(con, KEYWORD_STATE, "clean")
