"""File rankings from an issue's code-shaped evidence (see :mod:`kwaak.index.evidence`).

Each function returns repository paths in rank order; :mod:`kwaak.index.search` fuses them with
the keyword and dense rankings by reciprocal rank.

* ``frames``: files of the traceback frames, innermost frame first, matched by the longest path
  suffix (``/usr/lib/python3/dist-packages/astropy/io/ascii/core.py`` → ``astropy/io/ascii/core.py``;
  ``site-packages/flask/cli.py`` → ``src/flask/cli.py``).
* ``named``: files the text names: paths, bare file names, dotted modules (``ascii.rst`` →
  ``astropy/io/ascii/rst.py``); a named test file brings the source modules it imports.
* ``definitions``: files that *define* the identifiers the text uses, rarer names first (an
  identifier defined in many files says little; one defined in one file says a lot). Mentions do
  not count, so ``TypeError`` or ``_print_X`` pull in no hub module.
* ``phrases``: candidate files that contain a quoted string or an error message verbatim (or a
  literal run of at least three of its words, since messages are often formatted).
* ``graph``: a repository-graph prior: personalized PageRank over the import graph of the
  candidate files, started from the evidence files (the module an issue names is often not where
  the fix goes, but it is usually one import away).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

from kwaak.index.evidence import Evidence, module_paths, path_suffixes
from kwaak.index.lexical import LexicalIndex

MAX_DEFINING_FILES = 12
"""An identifier defined in more files than this is too common to point anywhere."""
_IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import|import\s+([\w.]+))", re.M)
_FRAGMENT_SPLIT = re.compile(r"""[\d'"`()\[\]{}<>:=,;|]+""")


class PathIndex:
    """Repository paths by suffix (``a/b/c.py`` under ``c.py``, ``b/c.py`` and ``a/b/c.py``)."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.by_suffix: dict[str, list[str]] = {}
        for path in sorted(paths):
            parts = path.split("/")
            for i in range(len(parts)):
                self.by_suffix.setdefault("/".join(parts[i:]), []).append(path)

    def match(self, path: str, *, min_parts: int = 2, max_hits: int = 3) -> list[str]:
        """Repository files whose path is the longest suffix of ``path`` (at least ``min_parts`` long)."""
        for suffix in path_suffixes(path):
            if suffix.count("/") + 1 < min_parts:
                break
            found = self.by_suffix.get(suffix)
            if found:
                return found if len(found) <= max_hits else []
        return []

    def named_file(self, name: str, *, max_hits: int = 2) -> list[str]:
        """Files called ``name`` when there are few of them."""
        found = self.by_suffix.get(name, [])
        return found if len(found) <= max_hits else []


def frames(evidence: Evidence, paths: PathIndex) -> list[str]:
    """Files of the traceback frames, innermost first."""
    out: list[str] = []
    for frame in reversed(evidence.frames):
        out += paths.match(frame.path)
    return list(dict.fromkeys(out))


def named(evidence: Evidence, paths: PathIndex, contents: dict[str, str] | None = None) -> list[str]:
    """Files the text names by path, file name or dotted module, in order of mention."""
    out: list[str] = []
    for path in evidence.paths:
        out += paths.match(path) if "/" in path else paths.named_file(path)
    for dotted in evidence.modules:
        for candidate in module_paths(dotted):
            if candidate.count("/") + 1 < 2 and "." in dotted:
                continue
            found = paths.match(candidate, min_parts=min(2, candidate.count("/") + 1))
            if found:
                out += found
                break
    out = list(dict.fromkeys(out))
    if contents is None:
        return out
    expanded: list[str] = []
    for path in out:
        expanded.append(path)
        if _is_test_path(path) and path in contents:
            expanded += imported_modules(contents[path], paths, path)
    return list(dict.fromkeys(expanded))


def imported_modules(text: str, paths: PathIndex, importer: str = "") -> list[str]:
    """Repository files a source file imports (``from a.b import c`` → ``a/b.py`` or ``a/b/c.py``).

    Relative imports (``from .core import x``) resolve against ``importer``'s package.
    """
    out: list[str] = []
    for source, plain in _IMPORT.findall(text):
        module = source or plain
        if module.startswith("."):
            dots = len(module) - len(module.lstrip("."))
            package = importer.split("/")[:-1]
            if dots - 1 > len(package) or not importer:
                continue
            base = package[: len(package) - (dots - 1)]
            module = ".".join([*base, *[m for m in module[dots:].split(".") if m]])
            if not module:
                continue
        for candidate in module_paths(module):
            found = paths.match(candidate, min_parts=min(2, candidate.count("/") + 1))
            if found:
                out += found
                break
    return out


def _is_test_path(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.startswith("test_") or name.endswith("_test.py") or "/tests/" in f"/{path}"


def definitions(evidence: Evidence, lexical: LexicalIndex, n_files: int) -> list[str]:
    """Files defining the text's identifiers, by the summed rarity of what they define."""
    scores: dict[str, float] = {}
    for identifier in evidence.identifiers[:60]:
        defining = sorted({doc.path for doc, _ in lexical.search_symbols([identifier.lower()], limit=200)})
        if not defining or len(defining) > MAX_DEFINING_FILES:
            continue
        weight = math.log(1 + n_files / len(defining))
        for path in defining:
            scores[path] = scores.get(path, 0.0) + weight
    return sorted(scores, key=lambda p: (-round(scores[p], 6), p))


def phrase_fragments(phrase: str, *, min_words: int = 3) -> list[str]:
    """The literal runs of a phrase that a source file may contain verbatim."""
    runs = [" ".join(part.split()) for part in _FRAGMENT_SPLIT.split(phrase)]
    whole = " ".join(phrase.split())
    fragments = [whole] + [r for r in runs if len(r.split()) >= min_words and r != whole]
    return list(dict.fromkeys(fragments))


def phrases(evidence: Evidence, contents: dict[str, str], order: Sequence[str]) -> list[str]:
    """Candidate files (in ``order``) containing a phrase or a literal run of one, most phrases first."""
    fragments = [phrase_fragments(p) for p in evidence.phrases]
    if not fragments:
        return []
    hits: dict[str, int] = {}
    for path in order:
        text = contents.get(path)
        if text is None:
            continue
        flat = " ".join(text.split())
        count = sum(any(f in flat for f in group) for group in fragments)
        if count:
            hits[path] = count
    return sorted(hits, key=lambda p: -hits[p])


def graph(seeds: Sequence[Sequence[str]], contents: dict[str, str], paths: PathIndex, *, steps: int = 20) -> list[str]:
    """Candidate files by personalized PageRank over their import graph, from the evidence files.

    ``seeds`` are evidence rankings (each best first); a file's restart weight is the sum of its
    reciprocal ranks. Edges are imports between candidates, in both directions. Seeds with no
    edge add nothing, so a ranking only appears when the evidence files are connected.
    """
    nodes = list(contents)
    index = {p: i for i, p in enumerate(nodes)}
    neighbours: list[set[int]] = [set() for _ in nodes]
    for path, text in contents.items():
        if not path.endswith(".py"):
            continue
        for target in imported_modules(text, paths, path):
            j = index.get(target)
            if j is not None and j != index[path]:
                neighbours[index[path]].add(j)
                neighbours[j].add(index[path])
    restart = [0.0] * len(nodes)
    for ranking in seeds:
        for rank, path in enumerate(ranking[:10], start=1):
            if path in index:
                restart[index[path]] += 1.0 / rank
    total = sum(restart)
    if not total or not any(neighbours):
        return []
    restart = [r / total for r in restart]
    score = list(restart)
    for _ in range(steps):
        spread = [0.0] * len(nodes)
        for i, out in enumerate(neighbours):
            if out and score[i]:
                share = score[i] / len(out)
                for j in out:
                    spread[j] += share
        score = [0.15 * r + 0.85 * s for r, s in zip(restart, spread, strict=True)]
    reached = [i for i in range(len(nodes)) if neighbours[i] and score[i] > 0]
    return [nodes[i] for i in sorted(reached, key=lambda i: (-round(score[i], 12), nodes[i]))]
