"""``kwaak index``: bring the code index up to date, with a progress bar."""

from __future__ import annotations

import asyncio

from rich.console import Console

from kwaak.index.cli_support import AppLike, load_embedder, load_model, summary, update_with_progress
from kwaak.index.code_index import CodeIndex
from kwaak.llm.base import Model


def run(app: AppLike, *, quiet: bool = False) -> int:
    """Index the repository incrementally; exit code 1 when some files or embeddings failed.

    Raises:
        IndexLocked: another kwaak is indexing this repository.
    """
    return asyncio.run(_run(app, quiet=quiet))


async def _run(app: AppLike, *, quiet: bool) -> int:
    console = Console(stderr=True)
    embedder, reason = load_embedder(app.config)
    if embedder is None and not quiet:
        console.print(f"[yellow]No embeddings ({reason}); indexing for keyword search only.[/yellow]")
    model: Model | None = load_model(app.config, "indexing") if app.config.index.qa_metadata else None
    try:
        index = await CodeIndex.open(app.config, app.repo_root, embedder=embedder, model=model)
        try:
            stats = await update_with_progress(index, console=console, quiet=quiet)
        finally:
            await index.close()
    finally:
        if embedder is not None:
            await embedder.aclose()
        if model is not None:
            await model.aclose()
    if not quiet:
        print(f"Indexed: {summary(stats)}")
        for error in stats.errors[:10]:
            console.print(f"[red]error:[/red] {error}")
    return 1 if stats.errors else 0
