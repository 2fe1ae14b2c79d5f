"""One search: gather candidates from every signal, then rank chunks or files.

Signals: BM25 over chunks, BM25 over whole files, dense cosine over chunks, exact symbol
definitions, and, with an overlay, the same signals computed for the agent's changed files.
Chunk rankings fuse the chunk signals; file rankings fuse per-file rankings of every signal, so a
file whose *whole* text matches an issue (words spread over many functions) ranks well too.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from kwaak.index.dense import FloatMatrix
from kwaak.index.lexical import LexicalDoc
from kwaak.index.overlay import OverlayCache, OverlayView, score_dense, score_lexical, symbol_matches
from kwaak.index.parts import IndexParts
from kwaak.index.ranking import Ranking, kind_factors, rrf, symbol_candidates, symbol_weight
from kwaak.index.results import Hit

Scored = list[tuple[LexicalDoc, float]]
FILE_CANDIDATES = 50
"""Whole-file documents fetched per query (each is a whole file: keep it small)."""


@dataclass(slots=True)
class Candidates:
    """The ranked candidates of each signal for one query."""

    query: str
    lexical: Scored = field(default_factory=list)
    dense: Scored = field(default_factory=list)
    symbols: Scored = field(default_factory=list)
    files: Scored = field(default_factory=list)
    """Whole-file documents (only gathered for file rankings)."""
    factors: dict[str, float] = field(default_factory=dict)


def gather(
    parts: IndexParts,
    cache: OverlayCache,
    query: str,
    *,
    limit: int,
    view: OverlayView | None,
    vector: FloatMatrix | None,
    files: bool,
) -> Candidates:
    """Run every signal; the shared index's chunks of files the overlay changed are left out."""
    hidden = view.hidden if view is not None else frozenset()

    def shared(found: Scored) -> Scored:
        return [(d, s) for d, s in found if d.path not in hidden]

    found = Candidates(query, factors=kind_factors(query, downweight=parts.config.index.downweight_non_code))
    found.lexical = shared(parts.lexical.search(query, limit=limit))
    identifiers = [i.lower() for i in symbol_candidates(query)]
    found.symbols = shared(parts.lexical.search_symbols(identifiers, limit=50))
    if vector is not None:
        hits = parts.dense.search(vector.tolist(), limit)
        stored = parts.lexical.fetch([i for i, _ in hits])
        found.dense = shared([(stored[i], s) for i, s in hits if i in stored])
    if files:
        found.files = shared(parts.files_lexical.search(query, limit=FILE_CANDIDATES))
    if view is not None:
        found.lexical = _merge(found.lexical, score_lexical(parts, cache, view.docs, query))
        found.symbols = [(d, 1.0) for d in symbol_matches(parts, view, identifiers)] + found.symbols
        if vector is not None:
            found.dense = _merge(found.dense, score_dense(view, vector))
        if files:
            found.files = _merge(found.files, score_lexical(parts, cache, view.files, query, files=True))
    rank = {d.id: i for i, (d, _) in enumerate(found.lexical)}
    found.symbols.sort(key=lambda item: (-found.factors.get(item[0].kind, 1.0), rank.get(item[0].id, limit)))
    return found


def rank_chunks(found: Candidates) -> Scored:
    """Chunks by fused score (kind factors applied), best first."""
    docs = {d.id: d for d, _ in [*found.lexical, *found.dense, *found.symbols]}
    fused = rrf(
        [
            Ranking([d.id for d, _ in found.lexical], 1.0),
            Ranking([d.id for d, _ in found.dense], 1.0),
            Ranking([d.id for d, _ in found.symbols], symbol_weight(found.query)),
        ]
    )
    return sorted(
        ((docs[i], score * found.factors.get(docs[i].kind, 1.0)) for i, score in fused.items()),
        key=lambda item: (-item[1], item[0].path, item[0].start_line),
    )


def rank_files(found: Candidates, k: int, *, max_bytes: int) -> list[Hit]:
    """Files by the fused per-file rankings of every signal; each hit shows the file's best chunk."""
    paths: dict[str, int] = {}

    def per_file(scored: Scored, *, by_score: bool = True) -> list[int]:
        best: dict[str, float] = {}
        for doc, raw in scored:
            score = raw * found.factors.get(doc.kind, 1.0)
            best[doc.path] = max(best.get(doc.path, score), score)
        ordered = sorted(best, key=lambda p: -best[p]) if by_score else list(best)
        return [paths.setdefault(p, len(paths)) for p in ordered]

    lists = [
        Ranking(per_file(found.lexical), 1.0),
        Ranking(per_file(found.dense), 1.0),
        Ranking(per_file(found.symbols, by_score=False), symbol_weight(found.query)),
        Ranking(per_file(found.files), 1.0),
    ]
    by_id = {i: p for p, i in paths.items()}
    kinds = {d.path: d.kind for d, _ in [*found.files, *found.lexical, *found.dense, *found.symbols]}
    scores = {by_id[i]: s * found.factors.get(kinds[by_id[i]], 1.0) for i, s in rrf(lists).items()}
    ranked = sorted(scores, key=lambda p: (-scores[p], p))[:k]
    best_chunk: dict[str, LexicalDoc] = {}
    for doc, _ in rank_chunks(found):
        best_chunk.setdefault(doc.path, doc)
    whole = {d.path: d for d, _ in found.files}
    return [to_hit(best_chunk.get(p) or _head(whole[p], max_bytes), scores[p]) for p in ranked]


def to_hit(doc: LexicalDoc, score: float) -> Hit:
    """A search hit from a stored document."""
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


def _head(doc: LexicalDoc, max_bytes: int) -> LexicalDoc:
    """The first lines of a whole-file document, about one chunk long."""
    lines = doc.content.splitlines(keepends=True)
    size, end = 0, 0
    while end < len(lines) and (size + len(lines[end]) <= max_bytes or end == 0):
        size += len(lines[end])
        end += 1
    return replace(doc, end_line=max(1, end), content="".join(lines[:end]))


def _merge(a: Scored, b: Scored) -> Scored:
    return sorted(a + b, key=lambda item: -item[1])
