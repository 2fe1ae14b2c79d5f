"""``kwaak index``: bring the code index up to date through the backend's ``IndexRepository`` op."""

from __future__ import annotations

import asyncio

from rich.console import Console

from kwaak import protocol as p
from kwaak.errors import error_of_kind
from kwaak.index.cli_support import AppLike, EventProgressBar, load_embedder, load_model, summary

MAX_SHOWN_ERRORS = 10


def run(app: AppLike, *, quiet: bool = False) -> int:
    """Index the repository incrementally; exit code 1 when some files or embeddings failed.

    Raises:
        KwaakError: the update failed (e.g. another kwaak is indexing this repository).
    """
    return asyncio.run(_run(app, quiet=quiet))


async def _run(app: AppLike, *, quiet: bool) -> int:
    from kwaak.backend import Backend, Models

    console = Console(stderr=True)
    embedder, reason = load_embedder(app.config)
    if embedder is None and not quiet:
        console.print(f"[yellow]No embeddings ({reason}); indexing for keyword search only.[/yellow]")
    indexing = load_model(app.config, "indexing")
    models = Models(indexing=indexing, query=indexing, embedder=embedder)  # agents never run here
    updates: list[p.IndexUpdated] = []
    bar = EventProgressBar(console) if not quiet and console.is_terminal else None

    def listen(event: p.Event) -> None:
        if isinstance(event.msg, p.IndexUpdated):
            updates.append(event.msg)
        elif bar is not None and isinstance(event.msg, p.IndexProgress):
            bar.show(event.msg)

    async with Backend(app.config, app.repo_root, models=models, buffer_events=False, persist=False) as backend:
        backend.add_listener(listen)
        try:
            completed = await backend.run_op(p.SYSTEM_SESSION, p.IndexRepository())
        finally:
            if bar is not None:
                bar.stop()
    if not completed.ok or not updates:
        raise error_of_kind(completed.error_kind, completed.error or "indexing failed", completed.hint)
    stats = updates[-1]
    if not quiet:
        print(f"Indexed: {summary(stats)}")
        for error in stats.errors[:MAX_SHOWN_ERRORS]:
            console.print(f"[red]error:[/red] {error}", markup=True, highlight=False)
        if stats.error_count > MAX_SHOWN_ERRORS:
            console.print(f"... and {stats.error_count - MAX_SHOWN_ERRORS} more errors")
    return 1 if stats.error_count else 0
