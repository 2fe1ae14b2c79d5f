"""An agent's view of the index: the shared index plus the files changed in its worktree.

Agents edit files in their own git worktree. To let an agent find its own edits without writing
to the shared index, a search with ``overlay=<worktree>``:

1. lists the worktree's files that differ from the commit the index was built from
   (``git diff --no-renames <base>`` + untracked), plus files that were dirty in the user's checkout
   when it was indexed;
2. drops those that are identical to the indexed version (same sha256);
3. hides the indexed chunks of the rest and chunks the worktree's version on the fly (cached by
   content hash), scoring them with the shared index's BM25 statistics and, when there is an
   embedder, with embeddings made on the fly (cached too).
"""

from __future__ import annotations

import asyncio
import hashlib
import statistics
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tantivy

from kwaak.executors.safefs import read_beneath
from kwaak.index.chunking import chunk_text
from kwaak.index.dense import FloatMatrix, normalize
from kwaak.index.files import classify, is_hidden
from kwaak.index.lexical import FIELD_BOOSTS, LexicalDoc, LexicalIndex, bm25, names_text, whole_file_doc
from kwaak.index.parts import IndexParts, changed_since
from kwaak.index.texts import embed_text

_CACHE_FILES = 2048


@dataclass(slots=True)
class OverlayView:
    """What an overlay changes: indexed paths to hide and the worktree's chunks."""

    hidden: frozenset[str]
    docs: list[LexicalDoc]
    vectors: FloatMatrix | None = None
    files: list[LexicalDoc] = field(default_factory=list)
    """One whole-file document per changed file (for file rankings)."""


@dataclass(slots=True)
class _FileChunks:
    docs: list[LexicalDoc]
    vectors: FloatMatrix | None = None
    file: LexicalDoc | None = None


@dataclass(slots=True)
class OverlayCache:
    """Chunks (and vectors) of worktree files by content hash, shared by all overlays."""

    files: OrderedDict[tuple[str, str], _FileChunks] = field(default_factory=OrderedDict)
    avg_lengths: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per index ("chunks", "files"): average token count per field."""
    next_id: int = -1

    def new_id(self) -> int:
        self.next_id -= 1
        return self.next_id


async def build_view(parts: IndexParts, worktree: Path, cache: OverlayCache) -> OverlayView:
    """The overlay of ``worktree`` over the shared index."""
    paths = set(await changed_since(worktree, parts.base_ref)) | set(parts.dirty)
    hidden: set[str] = set()
    entries: list[_FileChunks] = []
    for path in sorted(paths):
        grammar = parts.languages.grammar_for(path)
        if grammar is None or is_hidden(path):
            continue
        data = await asyncio.to_thread(_read, worktree, path, parts.config.index.max_file_bytes)
        sha = hashlib.sha256(data).hexdigest() if data is not None else None
        if sha is not None and parts.file_shas.get(path) == sha:
            continue
        hidden.add(path)
        if data is None:
            continue
        entries.append(await _chunks_of(parts, cache, path, grammar, sha or "", data))
    entries = [e for e in entries if e.docs]
    docs = [doc for e in entries for doc in e.docs]
    with_vectors = [e.vectors for e in entries if e.vectors is not None]
    matrix = np.vstack(with_vectors) if entries and len(with_vectors) == len(entries) else None
    files = [e.file for e in entries if e.file is not None]
    return OverlayView(frozenset(hidden), docs, matrix, files)


def _read(worktree: Path, rel: str, max_bytes: int) -> bytes | None:
    # The agent owns its worktree: never follow its links (host files must not leak into results),
    # never open its FIFOs or devices, and never read more than ``max_bytes``.
    try:
        data = read_beneath(worktree.resolve(), rel, max_bytes=max_bytes)
    except (OSError, ValueError):  # missing, a directory, refused (FileRefused is a ValueError)
        return None
    return None if b"\0" in data[:8192] else data


async def _chunks_of(
    parts: IndexParts, cache: OverlayCache, path: str, grammar: str, sha: str, data: bytes
) -> _FileChunks:
    key = (path, sha)
    if key in cache.files:
        cache.files.move_to_end(key)
        return cache.files[key]
    text = data.decode("utf-8", errors="replace")
    chunks = await asyncio.to_thread(chunk_text, path, text, grammar, max_bytes=parts.config.index.chunk_max_bytes)
    kind = classify(path, grammar)
    docs = [
        LexicalDoc(
            id=cache.new_id(),
            path=c.path,
            start_line=c.start_line,
            end_line=c.end_line,
            language=c.language,
            kind=kind,
            symbols=c.symbols,
            context=c.context,
            content=c.content,
        )
        for c in chunks
    ]
    entry = _FileChunks(docs, file=whole_file_doc(docs))
    if parts.embedder is not None and docs:
        raw = await parts.embedder.embed([embed_text(d.path, None, d.content) for d in docs])
        entry.vectors = normalize(raw)
    cache.files[key] = entry
    while len(cache.files) > _CACHE_FILES:
        cache.files.popitem(last=False)
    return entry


def average_lengths(parts: IndexParts, index: LexicalIndex, cache: OverlayCache, key: str) -> dict[str, float]:
    """Average token count per text field of ``index``, estimated from a sample of its documents."""
    if key in cache.avg_lengths:
        return cache.avg_lengths[key]
    searcher = index.index.searcher()
    sample = searcher.search(tantivy.Query.all_query(), limit=200, count=False).hits
    lengths: dict[str, list[int]] = {name: [] for name in FIELD_BOOSTS}
    for _, address in sample:
        doc = searcher.doc(address)
        body = str(doc.get_first("body") or "")
        symbols = tuple(s for s in str(doc.get_first("symbols") or "").split("\n") if s)
        for name, count in _field_lengths(parts, body, str(doc.get_first("path")), symbols).items():
            lengths[name].append(count)
    cache.avg_lengths[key] = {name: statistics.fmean(v) if v else 100.0 for name, v in lengths.items()}
    return cache.avg_lengths[key]


def _field_texts(content: str, path: str, symbols: tuple[str, ...], context: tuple[str, ...] = ()) -> dict[str, str]:
    return {"body": content, "ident": content, "names": names_text(path, symbols, context), "qa": ""}


def _field_lengths(parts: IndexParts, content: str, path: str, symbols: tuple[str, ...]) -> dict[str, int]:
    analyzers = parts.analyzers
    texts = _field_texts(content, path, symbols)
    return {
        name: len((analyzers.ident if name == "ident" else analyzers.code).analyze(text))
        for name, text in texts.items()
    }


def score_lexical(
    parts: IndexParts, cache: OverlayCache, docs: list[LexicalDoc], query: str, *, files: bool = False
) -> list[tuple[LexicalDoc, float]]:
    """BM25 of overlay documents on the scale of the shared chunk (or file) index, best first."""
    terms = parts.analyzers.query_terms(query)
    if not docs or not any(terms.values()):
        return []
    index = parts.files_lexical if files else parts.lexical
    n_docs, freqs = index.doc_freqs(terms)
    avg = average_lengths(parts, index, cache, "files" if files else "chunks")
    scored: list[tuple[LexicalDoc, float]] = []
    for doc in docs:
        score = 0.0
        for name, text in _field_texts(doc.content, doc.path, doc.symbols, doc.context).items():
            analyzer = parts.analyzers.ident if name == "ident" else parts.analyzers.code
            tokens = analyzer.analyze(text) if text else []
            for term in terms[name]:
                tf = tokens.count(term)
                if tf:
                    df = freqs.get((name, term), 0) + 1
                    score += FIELD_BOOSTS[name] * bm25(tf, df, n_docs + 1, len(tokens), avg[name])
        if score > 0:
            scored.append((doc, score))
    return sorted(scored, key=lambda item: -item[1])


def score_dense(view: OverlayView, query_vector: FloatMatrix) -> list[tuple[LexicalDoc, float]]:
    """Cosine similarity of the overlay's chunks, best first."""
    if view.vectors is None or not view.docs:
        return []
    scores = view.vectors @ query_vector
    order = np.argsort(-scores)
    return [(view.docs[i], float(scores[i])) for i in order]


def symbol_matches(parts: IndexParts, view: OverlayView, identifiers: list[str]) -> list[LexicalDoc]:
    """Overlay chunks defining one of ``identifiers`` (lowercased)."""
    wanted = set(identifiers)
    ident = parts.analyzers.ident
    return [d for d in view.docs if any(wanted.intersection(ident.analyze(s)) for s in d.symbols)]
