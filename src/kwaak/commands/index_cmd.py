"""``kwaak index``: bring the code index up to date through the backend's ``IndexRepository`` op."""

from __future__ import annotations

import asyncio

from rich.console import Console

from kwaak.commands.index_op import run_index_op
from kwaak.index.cli_support import AppLike, load_embedder, summary
from kwaak.textsafe import escape_controls

MAX_SHOWN_ERRORS = 10


def run(app: AppLike, *, quiet: bool = False) -> int:
    """Index the repository incrementally; exit code 1 when some files or embeddings failed.

    Raises:
        KwaakError: the update failed (e.g. another kwaak is indexing this repository).
    """
    return asyncio.run(_run(app, quiet=quiet))


async def _run(app: AppLike, *, quiet: bool) -> int:
    console = Console(stderr=True)
    embedder, reason = load_embedder(app.config)
    if embedder is None and not quiet:
        console.print(f"[yellow]No embeddings ({reason}); indexing for keyword search only.[/yellow]")
    stats = await run_index_op(app, embedder=embedder, console=console, quiet=quiet)
    if not quiet:
        print(f"Indexed: {summary(stats)}")
        for error in stats.errors[:MAX_SHOWN_ERRORS]:
            console.print(f"[red]error:[/red] {escape_controls(error)}", highlight=False)
        if stats.error_count > MAX_SHOWN_ERRORS:
            console.print(f"... and {stats.error_count - MAX_SHOWN_ERRORS} more errors")
    return 1 if stats.error_count else 0
