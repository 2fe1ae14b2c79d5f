"""Turning the keyword, dense and symbol rankings into one list.

* Reciprocal rank fusion (``Σ w / (60 + rank)``) merges rankings whose scores are not comparable.
* A query that looks like a symbol (``parse_args``, ``HttpClient``, ``Foo::bar``, one word) gives
  the exact-definition ranking a dominant weight, so the defining chunk comes first; in a sentence
  such a match is only a mild hint.
* Tests and docs are down-weighted for questions about code behaviour (configurable), unless the
  question is about tests or docs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

RRF_K = 60
LEXICAL_WEIGHT = 1.0
DENSE_WEIGHT = 1.0
SYMBOL_WEIGHT_EXACT = 3.0
SYMBOL_WEIGHT_SENTENCE = 0.3
NON_CODE_FACTOR = 0.5

_TEST_WORDS = frozenset(
    {"test", "tests", "testing", "tested", "pytest", "unittest", "spec", "specs", "fixture", "fixtures"}
)
_DOC_WORDS = frozenset(
    {"doc", "docs", "documentation", "documented", "readme", "changelog", "changes", "guide", "tutorial", "markdown"}
)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CODE_SHAPE = re.compile(r"[a-z][A-Z]|_|\w\.\w|::|\(\)|^[A-Z][a-z]+[A-Z]")


@dataclass(frozen=True, slots=True)
class Ranking:
    """Ids in rank order with the weight of this ranking in the fusion."""

    ids: Sequence[int]
    weight: float


def rrf(rankings: Iterable[Ranking]) -> dict[int, float]:
    """Reciprocal rank fusion."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, chunk_id in enumerate(dict.fromkeys(ranking.ids), start=1):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + ranking.weight / (RRF_K + rank)
    return fused


def is_symbol_query(query: str) -> bool:
    """Whether ``query`` names code (an identifier or two) rather than describing behaviour."""
    words = query.split()
    if not words or len(words) > 3:
        return False
    return len(words) == 1 or any(_CODE_SHAPE.search(w) for w in words)


_BACKTICKED = re.compile(r"`([^`]+)`")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def symbol_candidates(query: str) -> list[str]:
    """Identifiers that may name a definition: all of a symbol query's, else code-shaped ones.

    In a sentence, plain words (``copy``, ``walk``) are not treated as symbol names; ``parse_qs``,
    ``HttpClient``, ``foo()`` and anything in backticks are.
    """
    if is_symbol_query(query):
        return _IDENT.findall(query)
    found = [w for quoted in _BACKTICKED.findall(query) for w in _IDENT.findall(quoted)]
    for word in query.split():
        if _CODE_SHAPE.search(word.strip(".,;:!?\"'")):
            found += _IDENT.findall(word)
    return list(dict.fromkeys(found))


def symbol_weight(query: str) -> float:
    """The weight of exact symbol matches for this query."""
    return SYMBOL_WEIGHT_EXACT if is_symbol_query(query) else SYMBOL_WEIGHT_SENTENCE


def kind_factors(query: str, *, downweight: bool) -> dict[str, float]:
    """Score multipliers per file kind (``code``, ``test``, ``doc``)."""
    if not downweight:
        return {"code": 1.0, "test": 1.0, "doc": 1.0}
    words = {w.lower() for w in _WORD.findall(query)}
    words |= {w[:-1] for w in words if w.endswith("s")}
    return {
        "code": 1.0,
        "test": 1.0 if words & _TEST_WORDS else NON_CODE_FACTOR,
        "doc": 1.0 if words & _DOC_WORDS else NON_CODE_FACTOR,
    }
