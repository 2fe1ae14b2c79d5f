"""Optional Q&A metadata per chunk (kwaak's "Questions and Answers" transformer).

Behind ``[index] qa_metadata`` (off by default: one LLM call per chunk). The indexing model writes
up to five question/answer pairs; they are stored with the chunk, searched by keyword (field
``qa``) and prepended to the embedded text. A chunk whose call fails keeps ``qa IS NULL`` and is
retried by the next update.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

import duckdb
import numpy as np

from kwaak.errors import ProviderError
from kwaak.index import store as db
from kwaak.index.lexical import LexicalDoc
from kwaak.index.parts import IndexParts
from kwaak.index.prompts import render
from kwaak.index.texts import embed_text, text_hash
from kwaak.llm.base import Model

log = logging.getLogger(__name__)


def qa_prompt(path: str, language: str, content: str) -> str:
    """The Q&A prompt for one chunk (code or text)."""
    template = "qa_text" if language in ("markdown", "text") else "qa_code"
    return render(template, path=path, language=language, content=content)


async def generate_qa(parts: IndexParts, con: duckdb.DuckDBPyConnection, model: Model, errors: list[str]) -> int:
    """Ask ``model`` for Q&A of every chunk without it; returns how many succeeded."""
    rows = con.execute(
        "SELECT id, path, start_line, end_line, language, kind, symbols, context, content "
        "FROM chunks WHERE qa IS NULL ORDER BY id"
    ).fetchall()
    if not rows:
        return 0
    limit = asyncio.Semaphore(parts.config.effective_indexing_concurrency)
    failures: list[str] = []

    async def one(row: tuple[object, ...]) -> tuple[LexicalDoc, str] | None:
        doc = LexicalDoc(
            id=int(str(row[0])),
            path=str(row[1]),
            start_line=int(str(row[2])),
            end_line=int(str(row[3])),
            language=str(row[4]),
            kind=str(row[5]),
            symbols=tuple(s for s in str(row[6] or "").split("\n") if s),
            context=tuple(c for c in str(row[7] or "").split("\n") if c),
            content=str(row[8]),
        )
        async with limit:
            try:
                qa = (await model.prompt(qa_prompt(doc.path, doc.language, doc.content))).strip()
            except ProviderError as exc:
                failures.append(f"{doc.path}:{doc.start_line}: {exc.message}")
                return None
        return doc, qa

    results = [r for r in await asyncio.gather(*(one(row) for row in rows)) if r is not None]
    with parts.lexical.writing():
        for doc, qa in results:
            db.run(
                con,
                "UPDATE chunks SET qa = ?, text_hash = ?, vector = NULL WHERE id = ?",
                [qa, text_hash(embed_text(doc.path, qa, doc.content)), doc.id],
            )
            parts.lexical.delete_ids([doc.id])
            parts.lexical.add([replace(doc, qa=qa)])
    parts.dense.remove(np.asarray([doc.id for doc, _ in results], dtype=np.int64).tolist())
    if failures:
        errors.append(f"Q&A metadata failed for {len(failures)} chunks (retried next update): {failures[0]}")
    return len(results)
