"""BM25 keyword search over chunks with tantivy.

Why tantivy and not our own BM25 in numpy: it persists and updates incrementally (delete by path,
add, commit) in milliseconds, indexes ~100k chunks in a few seconds, answers in well under a
millisecond, and several processes may read it while one writes. Tokenizing ~35 MB of code in
Python alone would cost more than tantivy's whole build.

Each chunk is one document with these fields:

* ``body``: the content, split into lowercase sub-words (``getUserName`` → ``get user name``) and
  stemmed (``serializing`` → ``serial``), so natural-language questions match code;
* ``ident``: the content's whole identifiers, lowercased (``parse_args``), so exact names match;
* ``names``: path components, defined symbols and enclosing definitions (boosted);
* ``symbols``: the defined names as whole identifiers, for exact symbol lookups;
* ``qa``: the optional LLM questions and answers about the chunk.
"""

from __future__ import annotations

import contextlib
import math
import re
import shutil
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import tantivy

from kwaak.errors import IndexingError
from kwaak.index.ranking import is_symbol_query

CODE_ANALYZER = "kwaak_code"
IDENT_ANALYZER = "kwaak_ident"

_SUBWORD = r"[A-Z]+[a-z]*|[a-z]+|[0-9]+"
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_SHAPED = re.compile(r"\b\w*(?:[a-z][A-Z]|[A-Za-z0-9]_[A-Za-z0-9]|[A-Z]{2,}[a-z])\w*|\b_\w+")
"""Compound identifiers (camelCase, snake_case, _private): not plain words."""

FIELD_BOOSTS: dict[str, float] = {"body": 1.0, "ident": 1.0, "names": 0.25, "qa": 0.6}
"""Weight of each text field in a keyword query."""

SCHEMA_VERSION = "1"


@dataclass(frozen=True, slots=True, kw_only=True)
class LexicalDoc:
    """What the lexical index stores for a chunk (enough to build a search hit)."""

    id: int
    path: str
    start_line: int
    end_line: int
    language: str
    kind: str
    symbols: tuple[str, ...]
    context: tuple[str, ...]
    content: str
    qa: str = ""


def _analyzer(pattern: str, *, stem: bool, stopwords: bool = False) -> tantivy.TextAnalyzer:
    builder = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(pattern)).filter(tantivy.Filter.lowercase())
    builder = builder.filter(tantivy.Filter.remove_long(40))
    if stopwords:
        builder = builder.filter(tantivy.Filter.stopword("english"))
    if stem:
        builder = builder.filter(tantivy.Filter.stemmer("english"))
    return builder.build()


class Analyzers:
    """The tokenizers shared by indexing, querying and overlay scoring."""

    def __init__(self) -> None:
        self.code = _analyzer(_SUBWORD, stem=True)
        self.ident = _analyzer(_IDENT, stem=False)
        self.query_code = _analyzer(_SUBWORD, stem=True, stopwords=True)

    def query_terms(self, text: str) -> dict[str, list[str]]:
        """Analyzed query terms per field (compound identifiers only in ``ident``).

        The boosted ``names`` field (paths and defined names) only gets the query's plain words:
        the parts of an identifier the query merely mentions (``TypeError`` → ``type``,
        ``_print_Foo`` → ``print``) would otherwise make every module named like a common word
        (``typing.py``, ``printing/``) a strong hit.
        """
        code = list(dict.fromkeys(self.query_code.analyze(text)))
        compounds = [t for t in dict.fromkeys(self.ident.analyze(text)) if _is_compound(t)]
        names = code if is_symbol_query(text) else list(dict.fromkeys(self.query_code.analyze(_SHAPED.sub(" ", text))))
        return {"body": code, "names": names, "qa": code, "ident": compounds}

    def identifiers(self, text: str) -> list[str]:
        """Lowercased identifiers in ``text`` (candidates for an exact symbol match)."""
        return list(dict.fromkeys(self.ident.analyze(text)))


def _is_compound(token: str) -> bool:
    return "_" in token.strip("_") or any(c.isdigit() for c in token)


def _schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    b.add_unsigned_field("id", stored=True, indexed=True, fast=True)
    b.add_text_field("path", stored=True, tokenizer_name="raw")
    b.add_text_field("kind", stored=True, tokenizer_name="raw")
    b.add_text_field("language", stored=True, tokenizer_name="raw")
    b.add_unsigned_field("start", stored=True)
    b.add_unsigned_field("end", stored=True)
    b.add_text_field("body", stored=True, tokenizer_name=CODE_ANALYZER, index_option="freq")
    b.add_text_field("ident", stored=False, tokenizer_name=IDENT_ANALYZER, index_option="freq")
    b.add_text_field("names", stored=False, tokenizer_name=CODE_ANALYZER, index_option="freq")
    b.add_text_field("symbols", stored=True, tokenizer_name=IDENT_ANALYZER, index_option="freq")
    b.add_text_field("context", stored=True, tokenizer_name="raw")
    b.add_text_field("qa", stored=True, tokenizer_name=CODE_ANALYZER, index_option="freq")
    return b.build()


_PATH_SPLIT = re.compile(r"[/._-]+")


def names_text(path: str, symbols: Sequence[str], context: Sequence[str]) -> str:
    """The text of the boosted ``names`` field."""
    return " ".join([*_PATH_SPLIT.split(path), *symbols, *context])


class LexicalIndex:
    """A tantivy index on disk (``path``) or in memory (``path=None``)."""

    def __init__(self, path: Path | None, analyzers: Analyzers) -> None:
        self.path = path
        self.analyzers = analyzers
        self.schema = _schema()
        self.index = self._open()
        self._writer: tantivy.IndexWriter | None = None

    def _open(self) -> tantivy.Index:
        if self.path is None:
            index = tantivy.Index(self.schema)
        else:
            self.path.mkdir(parents=True, exist_ok=True)
            version = self.path / "kwaak-schema"
            if version.exists() and version.read_text().strip() != SCHEMA_VERSION:
                shutil.rmtree(self.path)
                self.path.mkdir(parents=True)
            try:
                index = tantivy.Index(self.schema, path=str(self.path), reuse=True)
            except (OSError, ValueError) as exc:
                msg = f"cannot open the keyword index at {str(self.path)!r}: {exc}"
                raise IndexingError(msg, hint="run `kwaak clear-cache` and index again") from exc
            version.write_text(SCHEMA_VERSION)
        index.register_tokenizer(CODE_ANALYZER, self.analyzers.code)
        index.register_tokenizer(IDENT_ANALYZER, self.analyzers.ident)
        return index

    # -- writing -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def writing(self) -> Iterator[LexicalIndex]:
        """Hold tantivy's writer for a batch of changes; commits on success, rolls back on error."""
        self._writer = self.index.writer(heap_size=64_000_000, num_threads=2)
        try:
            yield self
            self._writer.commit()
            self._writer.wait_merging_threads()
        except BaseException:
            self._writer.rollback()
            raise
        finally:
            self._writer = None
            self.index.reload()

    def _w(self) -> tantivy.IndexWriter:
        if self._writer is None:
            msg = "lexical index used for writing outside `writing()`"
            raise RuntimeError(msg)
        return self._writer

    def commit(self) -> None:
        """Make the changes so far visible to searches (inside ``writing()``)."""
        self._w().commit()
        self.index.reload()

    def add(self, docs: Iterable[LexicalDoc]) -> None:
        """Add chunks."""
        writer = self._w()
        for d in docs:
            doc = tantivy.Document()
            doc.add_unsigned("id", d.id)
            doc.add_unsigned("start", d.start_line)
            doc.add_unsigned("end", d.end_line)
            for name, value in (
                ("path", d.path),
                ("kind", d.kind),
                ("language", d.language),
                ("body", d.content),
                ("ident", d.content),
                ("names", names_text(d.path, d.symbols, d.context)),
                ("symbols", "\n".join(d.symbols)),
                ("context", "\n".join(d.context)),
                ("qa", d.qa),
            ):
                doc.add_text(name, value)
            writer.add_document(doc)

    def delete_path(self, path: str) -> None:
        """Delete every chunk of ``path``."""
        self._w().delete_documents_by_term("path", path)

    def delete_ids(self, ids: Iterable[int]) -> None:
        """Delete chunks by id."""
        wanted = list(ids)
        if wanted:
            self._w().delete_documents_by_query(tantivy.Query.term_set_query(self.schema, "id", wanted))

    def clear(self) -> None:
        """Delete everything."""
        self._w().delete_all_documents()

    # -- reading -------------------------------------------------------------------------------

    def refresh(self) -> None:
        """See commits made by another process."""
        self.index.reload()

    def num_docs(self) -> int:
        """Number of chunks."""
        return int(self.index.searcher().num_docs)

    def search(self, text: str, *, limit: int) -> list[tuple[LexicalDoc, float]]:
        """BM25 over all text fields (boosted), best first."""
        query = self._query(self.analyzers.query_terms(text))
        return self._run(query, limit) if query is not None else []

    def search_symbols(self, identifiers: Sequence[str], *, limit: int) -> list[tuple[LexicalDoc, float]]:
        """Chunks that define one of ``identifiers`` (lowercased, exact)."""
        if not identifiers:
            return []
        query = tantivy.Query.term_set_query(self.schema, "symbols", list(identifiers))
        searcher = self.index.searcher()
        # every match scores the same: take them in id order (stable across segment layouts)
        result = searcher.search(query, limit=max(1, limit), count=False, order_by_field="id", order=tantivy.Order.Asc)
        return [(_to_doc(searcher.doc(address)), 1.0) for _, address in result.hits]

    def fetch(self, ids: Sequence[int]) -> dict[int, LexicalDoc]:
        """Stored chunks by id."""
        if not ids:
            return {}
        found = self._run(tantivy.Query.term_set_query(self.schema, "id", list(ids)), len(ids))
        return {doc.id: doc for doc, _ in found}

    def fetch_paths(self, paths: Sequence[str]) -> dict[str, LexicalDoc]:
        """Stored documents by path (the first of each path: for whole-file indexes, the file)."""
        if not paths:
            return {}
        query = tantivy.Query.term_set_query(self.schema, "path", list(paths))
        searcher = self.index.searcher()
        result = searcher.search(query, limit=len(paths) * 4, count=False, order_by_field="id", order=tantivy.Order.Asc)
        found: dict[str, LexicalDoc] = {}
        for _, address in result.hits:
            doc = _to_doc(searcher.doc(address))
            found.setdefault(doc.path, doc)
        return found

    def doc_freqs(self, terms: dict[str, list[str]]) -> tuple[int, dict[tuple[str, str], int]]:
        """Number of documents and each ``(field, term)``'s document frequency (overlay scoring)."""
        searcher = self.index.searcher()
        freqs = {(f, t): int(searcher.doc_freq(f, t)) for f, ts in terms.items() for t in ts}
        return int(searcher.num_docs), freqs

    def _query(self, terms: dict[str, list[str]]) -> tantivy.Query | None:
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        for field, tokens in terms.items():
            for token in tokens:
                q = tantivy.Query.term_query(self.schema, field, token, index_option="freq")
                clauses.append((tantivy.Occur.Should, tantivy.Query.boost_query(q, FIELD_BOOSTS[field])))
        return tantivy.Query.boolean_query(clauses) if clauses else None

    def _run(self, query: tantivy.Query, limit: int) -> list[tuple[LexicalDoc, float]]:
        """The ``limit`` best documents, ties broken by id and path (not by where tantivy's threads put them).

        Documents tied with the last one taken are all fetched first, so which of them make the cut
        does not depend on the segment layout.
        """
        searcher = self.index.searcher()
        limit = max(1, limit)
        want = limit + limit // 4 + 8
        while True:
            hits = searcher.search(query, limit=want, count=False).hits
            if len(hits) < want or round(float(hits[-1][0]), 5) < round(float(hits[limit - 1][0]), 5):
                break
            want *= 2
        found = [(_to_doc(searcher.doc(address)), float(score)) for score, address in hits]
        found.sort(key=lambda item: (-round(item[1], 5), item[0].id, item[0].path, item[0].start_line))
        return found[:limit]


def _to_doc(doc: tantivy.Document) -> LexicalDoc:
    symbols = doc.get_first("symbols") or ""
    context = doc.get_first("context") or ""
    return LexicalDoc(
        id=_int(doc.get_first("id")),
        path=str(doc.get_first("path")),
        start_line=_int(doc.get_first("start")),
        end_line=_int(doc.get_first("end")),
        language=str(doc.get_first("language")),
        kind=str(doc.get_first("kind")),
        symbols=tuple(s for s in symbols.split("\n") if s),
        context=tuple(c for c in context.split("\n") if c),
        content=str(doc.get_first("body") or ""),
        qa=str(doc.get_first("qa") or ""),
    )


def whole_file_doc(chunks: list[LexicalDoc], doc_id: int = 0) -> LexicalDoc | None:
    """A file as one document, rebuilt from its chunks (they tile the file)."""
    if not chunks:
        return None
    first = chunks[0]
    return LexicalDoc(
        id=doc_id,
        path=first.path,
        start_line=1,
        end_line=chunks[-1].end_line,
        language=first.language,
        kind=first.kind,
        # a file's hundreds of names would drown its path in the boosted ``names`` field
        symbols=(),
        context=(),
        content="".join(c.content for c in chunks),
    )


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | float | str) else 0


def bm25(tf: int, df: int, n_docs: int, doc_len: int, avg_len: float, *, k1: float = 1.2, b: float = 0.75) -> float:
    """Tantivy's BM25 term score, for scoring overlay chunks on the same scale."""
    idf = math.log(1 + (n_docs - df + 0.5) / (df + 0.5))
    norm = tf + k1 * (1 - b + b * doc_len / max(avg_len, 1.0))
    return idf * tf * (k1 + 1) / norm
