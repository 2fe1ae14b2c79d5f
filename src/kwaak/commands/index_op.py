"""How the CLI verbs index: always through the backend's ``IndexRepository`` op (one door).

``kwaak index`` lets the backend open the index (with the metered indexing model for ``[index]
qa_metadata``); ``search``, ``query`` and ``eval`` open it themselves (read-only when another kwaak
indexes) and hand it to the backend for the refresh, keeping it for their searches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console

from kwaak import protocol as p
from kwaak.errors import KwaakError
from kwaak.headless.exit_codes import command_exit_code
from kwaak.index.cli_support import AppLike, ProgressBar, load_model, open_for_cli

if TYPE_CHECKING:
    from kwaak.index.code_index import CodeIndex
    from kwaak.llm.base import Embedder, Model


async def run_index_op(
    app: AppLike, *, embedder: Embedder | None, console: Console, quiet: bool, index: CodeIndex | None = None
) -> p.IndexUpdated:
    """Submit ``IndexRepository`` to a backend of this repository; its result.

    Raises:
        KwaakError: the update failed (the error the backend reported; exit code by its kind).
    """
    from kwaak.backend import Backend, Models

    indexing = load_model(app.config, "indexing")
    # No agent runs here. A given index holds its own embedder, which its caller closes; else the
    # backend opens the index with ``embedder`` and closes both.
    models = Models(indexing=indexing, query=indexing, embedder=embedder if index is None else None)
    updates: list[p.IndexUpdated] = []
    bar = ProgressBar(console) if not quiet and console.is_terminal else None

    def listen(event: p.Event) -> None:
        if isinstance(event.msg, p.IndexUpdated):
            updates.append(event.msg)
        elif bar is not None and isinstance(event.msg, p.IndexProgress):
            bar.show(event.msg)

    backend = Backend(app.config, app.repo_root, models=models, index=index, buffer_events=False, persist=False)
    try:
        backend.add_listener(listen)
        completed = await backend.run_op(p.SYSTEM_SESSION, p.IndexRepository())
    finally:
        if bar is not None:
            bar.stop()
        await backend.aclose()  # a given index stays open: the caller owns it
    if not completed.ok or not updates:
        error = KwaakError(completed.error or "indexing failed", hint=completed.hint)
        error.exit_code = command_exit_code(completed)  # the table every op-running verb uses
        raise error
    return updates[-1]


async def open_index(
    app: AppLike,
    *,
    embedder: Embedder | None,
    refresh: bool,
    console: Console,
    reranker: Model | None = None,
) -> CodeIndex:
    """Open the index for a search verb, brought up to date through the op when ``refresh``.

    Raises:
        KwaakError: the index cannot be opened or updated.
    """
    index = await open_for_cli(app, embedder=embedder, console=console, reranker=reranker)
    if refresh and not index.readonly:
        try:
            await run_index_op(app, embedder=embedder, console=console, quiet=True, index=index)
        except BaseException:
            await index.close()
            raise
    return index
