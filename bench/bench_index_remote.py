"""First index of CPython's ``Lib/`` with a remote embedding provider (fake OpenAI server, 200 ms per request).

Compares the old fixed embedding concurrency (2 requests at a time) with kwaak's per-provider
defaults (``effective_indexing_concurrency``: 4×CPUs for a remote indexing provider, batches of
``effective_indexing_batch_size`` = 12). The fake server (``tests/fakes/provider_server.py``) runs
in this process and sleeps ``--latency`` seconds per embeddings request, like a remote API.

Usage: ``python bench/bench_index_remote.py [--files N] [--latency 0.2] [--json FILE]``.
``--files N`` indexes only the first N Python files of ``Lib/`` (sorted by path) to keep the run short
on a shared machine; without it the whole ``Lib/`` is indexed (several minutes for the "before" run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from index_tree import make_config, make_repo, stdlib_dir
from tests.fakes.provider_server import FakeProviderServer

from kwaak.index import CodeIndex
from kwaak.llm import make_embedder

DIMENSIONS = 256


def subset(source: Path, dest: Path, n_files: int) -> Path:
    """The first ``n_files`` Python files of ``source`` (sorted), copied with their directories."""
    files = sorted(p for p in source.rglob("*.py") if "site-packages" not in p.parts and "__pycache__" not in p.parts)
    for path in files[:n_files]:
        target = dest / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return dest


async def first_index(repo: Path, cache: Path, server: FakeProviderServer, concurrency: int | None) -> dict[str, Any]:
    """Index from scratch with OpenAI-compatible indexing and embedding providers on the fake server."""
    shutil.rmtree(cache, ignore_errors=True)
    openai = {
        "provider": "OpenAI",
        "api_key": "text:sk-bench",
        "base_url": f"{server.url}/v1",
        "embedding_model": "text-embedding-3-small",
        "embedding_dimensions": DIMENSIONS,
    }
    extra: dict[str, Any] = {"indexing_concurrency": concurrency} if concurrency else {}
    config = make_config(repo, cache, llm={"indexing": openai, "query": openai, "embedding": openai}, **extra)
    embedder = make_embedder(
        config.llm.embedding, batch_size=config.effective_indexing_batch_size, backoff=config.backoff
    )
    before = len(server.requests_to("embeddings"))
    started = time.perf_counter()
    index = await CodeIndex.open(config, repo, embedder=embedder)
    stats = await index.update()
    total = time.perf_counter() - started
    await index.close()
    await embedder.aclose()
    return {
        "concurrency": config.effective_indexing_concurrency,
        "batch": config.effective_indexing_batch_size,
        "files": stats.files_total,
        "chunks": stats.chunks_total,
        "embedded": stats.embedded,
        "requests": len(server.requests_to("embeddings")) - before,
        "lexical_sec": round(stats.lexical_ready_sec, 1),
        "total_sec": round(total, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, help="index only the first N Python files of Lib/")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per embeddings request")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="kwaak-bench-remote-") as tmp,
        FakeProviderServer(embedding_dimensions=DIMENSIONS, validate=False, embedding_latency=args.latency) as server,
    ):
        root = Path(tmp)
        source = subset(stdlib_dir(), root / "subset", args.files) if args.files else stdlib_dir()
        repo = make_repo(root, source)
        rows = {
            "before (fixed concurrency 2)": asyncio.run(first_index(repo, root / "cache", server, 2)),
            "after (kwaak defaults)": asyncio.run(first_index(repo, root / "cache", server, None)),
        }
    scope = f"first {args.files} .py files of Lib/" if args.files else "all of Lib/"
    print(f"First index of CPython {scope} ({stdlib_dir()}), remote embeddings at {args.latency * 1000:.0f} ms/request")
    header = ("run", "concurrency", "batch", "files", "chunks", "requests", "keyword ready", "total")
    print(" | ".join(header))
    for label, r in rows.items():
        print(
            f"{label} | {r['concurrency']} | {r['batch']} | {r['files']} | {r['chunks']} | {r['requests']} | "
            f"{r['lexical_sec']} s | {r['total_sec']} s"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
