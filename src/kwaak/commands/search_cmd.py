"""``kwaak search``: ranked chunks (or files) from the hybrid code index."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict

from rich.console import Console

from kwaak.commands.index_op import open_index
from kwaak.errors import KwaakError
from kwaak.index.cli_support import AppLike, load_embedder, load_model
from kwaak.index.results import Hit
from kwaak.textsafe import escape_controls


def run(
    app: AppLike, query: str, *, k: int = 10, files: bool = False, as_json: bool = False, explain: bool = False
) -> int:
    """Print the ``k`` best chunks (or files with ``files``) for ``query``; JSON with ``as_json``.

    ``explain`` adds, under each result, the signals that ranked it and its rank in each (JSON
    always carries them as ``signals``). Returns 1 when nothing matched.
    """
    hits = asyncio.run(_search(app, query, k=k, files=files))
    if as_json:
        print(json.dumps([asdict(h) for h in hits], indent=2))
    else:
        for line in format_hits(hits, files=files, explain=explain):
            print(escape_controls(line))
    return 0 if hits else 1


async def _search(app: AppLike, query: str, *, k: int, files: bool) -> list[Hit]:
    console = Console(stderr=True)
    embedder, _ = load_embedder(app.config)
    refresh = not getattr(app, "skip_indexing", False)
    reranker = None
    if app.config.index.rerank and files:
        try:
            reranker = load_model(app.config, "query")
        except KwaakError as exc:
            console.print(f"[yellow]not reranking: {escape_controls(exc.message)}[/yellow]")
    try:
        index = await open_index(app, embedder=embedder, refresh=refresh, console=console, reranker=reranker)
        try:
            return await index.search(query, k=k, files=files)
        finally:
            await index.close()
    finally:
        if embedder is not None:
            await embedder.aclose()


def format_hits(hits: list[Hit], *, files: bool, explain: bool = False) -> list[str]:
    """Human-readable lines: score, location, symbols (and a preview for chunks)."""
    lines: list[str] = []
    for hit in hits:
        if files:
            lines.append(f"{hit.score:8.4f}  {hit.path}")
        else:
            symbols = f"  [{', '.join(hit.symbols[:4])}]" if hit.symbols else ""
            lines.append(f"{hit.score:8.4f}  {hit.path}:{hit.start_line}-{hit.end_line}{symbols}")
            preview = next((line.strip() for line in hit.content.splitlines() if line.strip()), "")
            lines.append(f"          {preview[:100]}")
        if explain:
            ranked = ", ".join(f"{name} #{rank}" for name, rank in sorted(hit.signals.items(), key=lambda kv: kv[1]))
            lines.append(f"          ranked by: {ranked or 'nothing (fallback)'}")
    return lines
