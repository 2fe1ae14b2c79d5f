"""The code index: tree-sitter chunks, BM25 (tantivy) + dense vectors (DuckDB/numpy), incremental.

Usage::

    index = await CodeIndex.open(config, repo_root, embedder=embedder)   # or embedder=None
    stats = await index.update(progress=print)
    hits = await index.search("where are retries configured", k=5, overlay=worktree)
    answer = await answer_question("How does X work?", index=index, model=model, config=config)
    await index.close()

Layout in ``config.cache_dir``: ``index.duckdb`` (source of truth: files, chunks, vectors, meta),
``tantivy/`` (BM25 over chunks), ``tantivy-files/`` (BM25 over whole files) and ``index.lock``
(the writer's ``flock``; readers open with ``readonly=True``). Modules: ``files`` (selection),
``chunking`` + ``languages`` (tree-sitter), ``pipeline`` + ``embedding`` + ``qa`` (updates),
``store``, ``lexical``, ``dense`` (storage and signals), ``search`` + ``ranking`` (fusion),
``overlay`` (agent worktrees), ``query`` (the answer pipeline), ``cli_support`` (verbs).
"""

from kwaak.index.chunking import Chunk, chunk_text
from kwaak.index.code_index import CodeIndex
from kwaak.index.query import answer_question, initial_context, strip_markdown_fence
from kwaak.index.results import Hit, IndexProgress, IndexStats

__all__ = [
    "Chunk",
    "CodeIndex",
    "Hit",
    "IndexProgress",
    "IndexStats",
    "answer_question",
    "chunk_text",
    "initial_context",
    "strip_markdown_fence",
]
