"""One search: gather candidates from every signal, then rank chunks or files.

Signals: BM25 over chunks, BM25 over whole files, dense cosine over chunks, exact symbol
definitions, and, with an overlay, the same signals computed for the agent's changed files.
Chunk rankings fuse the chunk signals; file rankings fuse per-file rankings of every signal, so a
file whose *whole* text matches an issue (words spread over many functions) ranks well too.

Issue reports (long queries) are taken apart first (:mod:`kwaak.index.evidence`): keyword search
runs on their prose without tracebacks and dumps, the title gets a whole-file ranking of its own,
and file rankings add the evidence signals of :mod:`kwaak.index.signals` (traceback frames, named
files and modules, definitions of the identifiers used, exact phrases).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from kwaak.index import signals
from kwaak.index.dense import FloatMatrix
from kwaak.index.evidence import Evidence, extract
from kwaak.index.files import classify
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
    evidence: Evidence | None = None
    """The query taken apart (file rankings of issue-style queries)."""
    title: Scored = field(default_factory=list)
    """Whole-file documents for the title alone (long queries)."""
    extra: dict[str, list[str]] = field(default_factory=dict)
    """Evidence rankings of paths by signal name (frames, named, definitions, phrases)."""
    kinds: dict[str, str] = field(default_factory=dict)
    """File kinds of evidence paths that no other signal returned."""


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

    evidence = extract(query)
    long = evidence.is_long
    text = evidence.prose if long else query
    downweight = parts.config.index.downweight_non_code
    found = Candidates(query, factors=kind_factors(evidence.title if long else query, downweight=downweight))
    found.lexical = shared(parts.lexical.search(text, limit=limit))
    identifiers = [i.lower() for i in symbol_candidates(query)]
    found.symbols = shared(parts.lexical.search_symbols(identifiers, limit=400))
    if vector is not None:
        hits = parts.dense.search(vector.tolist(), limit)
        stored = parts.lexical.fetch([i for i, _ in hits])
        found.dense = shared([(stored[i], s) for i, s in hits if i in stored])
    if files:
        found.files = shared(parts.files_lexical.search(text, limit=FILE_CANDIDATES))
        if long:
            found.evidence = evidence
            found.title = shared(parts.files_lexical.search(evidence.title, limit=FILE_CANDIDATES))
    if view is not None:
        found.lexical = _merge(found.lexical, score_lexical(parts, cache, view.docs, query))
        found.symbols = [(d, 1.0) for d in symbol_matches(parts, view, identifiers)] + found.symbols
        if vector is not None:
            found.dense = _merge(found.dense, score_dense(view, vector))
        if files:
            found.files = _merge(found.files, score_lexical(parts, cache, view.files, query, files=True))
    if found.evidence is not None:
        _evidence_rankings(parts, found, view)
    rank = {d.id: i for i, (d, _) in enumerate(found.lexical)}
    found.symbols.sort(key=lambda item: (-found.factors.get(item[0].kind, 1.0), rank.get(item[0].id, limit)))
    return found


def _evidence_rankings(parts: IndexParts, found: Candidates, view: OverlayView | None) -> None:
    """Fill ``found.extra`` with the evidence signals' file rankings."""
    evidence = found.evidence
    assert evidence is not None
    hidden = view.hidden if view is not None else frozenset()
    changed = {d.path: d.content for d in view.files} if view is not None else {}
    all_paths = (set(parts.file_shas) - hidden) | set(changed)
    paths = signals.PathIndex(all_paths)
    extra = found.extra
    extra["frames"] = signals.frames(evidence, paths)
    named = signals.named(evidence, paths)
    contents = _contents(parts, named, changed)
    extra["named"] = signals.named(evidence, paths, contents)
    extra["definitions"] = [p for p in signals.definitions(evidence, parts.lexical, len(all_paths)) if p not in hidden]
    order = list(
        dict.fromkeys(
            [
                *extra["frames"],
                *extra["named"],
                *extra["definitions"][:50],
                *(d.path for d, _ in found.files),
                *(d.path for d, _ in found.title),
                *(d.path for d, _ in found.lexical[:100]),
            ]
        )
    )
    contents = _contents(parts, order, changed)
    extra["phrases"] = signals.phrases(evidence, contents, order)
    seeds = [extra["frames"], extra["named"], extra["definitions"]]
    if EVIDENCE_WEIGHTS["graph"]:
        extra["graph"] = signals.graph(seeds, contents, paths)
    for path in (p for ranking in extra.values() for p in ranking):
        if path not in found.kinds:
            grammar = parts.languages.grammar_for(path)
            found.kinds[path] = classify(path, grammar) if grammar is not None else "code"


def _contents(parts: IndexParts, paths: list[str], changed: dict[str, str]) -> dict[str, str]:
    shared = parts.files_lexical.fetch_paths([p for p in paths if p not in changed])
    return {**{p: d.content for p, d in shared.items()}, **{p: c for p, c in changed.items() if p in paths}}


def rank_chunks(found: Candidates) -> list[tuple[LexicalDoc, float, dict[str, int]]]:
    """Chunks by fused score (kind factors applied), best first, with their rank in each signal."""
    docs = {d.id: d for d, _ in [*found.lexical, *found.dense, *found.symbols]}
    lists = {
        "keywords": Ranking([d.id for d, _ in found.lexical], 1.0),
        "dense": Ranking([d.id for d, _ in found.dense], 1.0),
        "symbols": Ranking([d.id for d, _ in found.symbols], symbol_weight(found.query)),
    }
    fused = rrf(lists.values())
    ranks = {name: {i: n for n, i in enumerate(dict.fromkeys(r.ids), start=1)} for name, r in lists.items()}
    scored = [
        (docs[i], score * found.factors.get(docs[i].kind, 1.0), {n: r[i] for n, r in ranks.items() if i in r})
        for i, score in fused.items()
    ]
    return sorted(scored, key=lambda item: (-item[1], item[0].path, item[0].start_line))


EVIDENCE_WEIGHTS: dict[str, float] = {
    "frames": 1.0,
    "named": 1.0,
    "definitions": 1.0,
    "phrases": 1.0,
    "title": 1.0,
    "graph": 1.0,
}
"""RRF weight of each issue-evidence signal in file rankings (all equal: no signal is trusted more)."""


def rank_files(found: Candidates, k: int, *, max_bytes: int) -> list[Hit]:
    """Files by the fused per-file rankings of every signal; each hit shows the file's best chunk.

    Each hit's ``signals`` gives its 1-based rank in every signal that returned it (``--explain``).
    """
    paths: dict[str, int] = {}

    def per_file(scored: Scored, *, by_score: bool = True) -> list[int]:
        best: dict[str, float] = {}
        for doc, raw in scored:
            score = raw * found.factors.get(doc.kind, 1.0)
            best[doc.path] = max(best.get(doc.path, score), score)
        ordered = sorted(best, key=lambda p: (-best[p], p)) if by_score else list(best)
        return [paths.setdefault(p, len(paths)) for p in ordered]

    named_lists: dict[str, Ranking] = {
        "keywords (chunks)": Ranking(per_file(found.lexical), 1.0),
        "dense": Ranking(per_file(found.dense), 1.0),
        "keywords (whole file)": Ranking(per_file(found.files), 1.0),
    }
    if found.evidence is None:  # an issue's identifiers count through ``definitions`` (rarity-weighted)
        named_lists["symbols"] = Ranking(per_file(found.symbols, by_score=False), symbol_weight(found.query))
    if found.evidence is not None:
        named_lists["title"] = Ranking(per_file(found.title), EVIDENCE_WEIGHTS["title"])
        for name, ranking in found.extra.items():
            named_lists[name] = Ranking([paths.setdefault(p, len(paths)) for p in ranking], EVIDENCE_WEIGHTS[name])
    by_id = {i: p for p, i in paths.items()}
    kinds = dict(found.kinds)
    kinds.update(
        {d.path: d.kind for d, _ in [*found.title, *found.files, *found.lexical, *found.dense, *found.symbols]}
    )
    fused = rrf(named_lists.values())
    scores = {by_id[i]: s * found.factors.get(kinds.get(by_id[i], "code"), 1.0) for i, s in fused.items()}
    ranked = sorted(scores, key=lambda p: (-round(scores[p], 9), p))[:k]
    positions = {name: {i: n for n, i in enumerate(dict.fromkeys(r.ids), start=1)} for name, r in named_lists.items()}
    best_chunk: dict[str, LexicalDoc] = {}
    for doc, _, _ in rank_chunks(found):
        best_chunk.setdefault(doc.path, doc)
    whole = {d.path: d for d, _ in [*found.files, *found.title]}
    hits = []
    for path in ranked:
        ranks = {name: positions[name][paths[path]] for name in named_lists if paths[path] in positions[name]}
        doc = best_chunk.get(path) or (_head(whole[path], max_bytes) if path in whole else _placeholder(path, kinds))
        hits.append(replace(to_hit(doc, scores[path]), signals=ranks))
    return hits


def _placeholder(path: str, kinds: dict[str, str]) -> LexicalDoc:
    """A hit's document for a file only an evidence signal found (no chunk of it was retrieved)."""
    return LexicalDoc(
        id=0,
        path=path,
        start_line=1,
        end_line=1,
        language="",
        kind=kinds.get(path, "code"),
        symbols=(),
        context=(),
        content="",
    )


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
