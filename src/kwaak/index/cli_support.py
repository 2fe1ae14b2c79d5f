"""What the ``index``, ``search`` and ``query`` verbs share: providers, opening, a progress bar."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from kwaak.config import Config
from kwaak.errors import ConfigError, IndexLocked, ProviderError
from kwaak.index.code_index import CodeIndex
from kwaak.llm.base import Embedder, Model

log = logging.getLogger(__name__)


class AppLike(Protocol):
    """The part of ``kwaak.commands.app.AppContext`` the index verbs need."""

    @property
    def config(self) -> Config:
        """The loaded configuration."""
        ...

    @property
    def repo_root(self) -> Path:
        """The repository's top-level directory."""
        ...


def load_embedder(config: Config) -> tuple[Embedder | None, str | None]:
    """The configured embedder, or ``None`` and the reason (keyword-only search then)."""
    try:
        from kwaak.llm import make_embedder
    except ImportError:  # the provider layer is optional for the index
        return None, "no embedding provider is available"
    try:
        embedder = make_embedder(
            config.llm.embedding,
            batch_size=config.effective_indexing_batch_size,
            backoff=config.backoff,
            timeout=config.limits.llm_timeout_sec,
        )
    except (ProviderError, ConfigError) as exc:
        return None, exc.message
    return embedder, None


def load_model(config: Config, role: str) -> Model:
    """The chat model of ``role`` (``query`` or ``indexing``).

    Raises:
        ConfigError: the provider cannot chat or is misconfigured.
    """
    from kwaak.llm import make_model

    table = config.llm.query if role == "query" else config.llm.indexing
    return make_model(table, backoff=config.backoff, prices=config.prices, timeout=config.limits.llm_timeout_sec)


async def open_for_cli(
    app: AppLike,
    *,
    embedder: Embedder | None,
    console: Console,
    model: Model | None = None,
    reranker: Model | None = None,
) -> CodeIndex:
    """Open the index for a verb as the writer, else (another kwaak indexes) read-only.

    Raises:
        IndexingError: the index is locked by another kwaak and has never been built.
    """
    try:
        return await CodeIndex.open(app.config, app.repo_root, embedder=embedder, model=model, reranker=reranker)
    except IndexLocked as exc:
        console.print(f"[yellow]{exc.message}; searching the index read-only[/yellow]")
        return await CodeIndex.open(app.config, app.repo_root, embedder=embedder, readonly=True, reranker=reranker)


class ProgressBar:
    """Rich progress bars fed by the backend's ``index_progress`` events: files, then embeddings."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._files: TaskID | None = None
        self._embed: TaskID | None = None
        self._started = False

    def show(self, update: _ProgressEvent) -> None:
        """Show one event: files while scanning/chunking, chunks while embedding."""
        if not update.total or update.phase not in ("scanning", "chunking", "embedding"):
            return
        if not self._started:
            self.progress.start()
            self._started = True
        if update.phase == "embedding":
            if self._embed is None:
                self._embed = self.progress.add_task("embeddings", total=update.total, detail="")
            self.progress.update(self._embed, completed=update.done, detail=self._rate(self._embed, "chunks"))
            return
        if self._files is None:
            self._files = self.progress.add_task("files", total=update.total, detail="")
        self.progress.update(self._files, completed=update.done, detail=self._rate(self._files))

    def stop(self) -> None:
        """Leave the bars as they ended."""
        if self._started:
            self.progress.stop()

    def _rate(self, task_id: TaskID, unit: str = "files") -> str:
        task = self.progress.tasks[task_id]
        speed = task.speed
        return f" · {speed:.0f} {unit}/s" if speed else ""


class _ProgressEvent(Protocol):
    @property
    def done(self) -> int: ...
    @property
    def total(self) -> int: ...
    @property
    def phase(self) -> str: ...


class _UpdateCounts(Protocol):
    @property
    def files_total(self) -> int: ...
    @property
    def chunks_total(self) -> int: ...
    @property
    def files_indexed(self) -> int: ...
    @property
    def files_removed(self) -> int: ...
    @property
    def embedded(self) -> int: ...
    @property
    def vectors_reused(self) -> int: ...
    @property
    def pending_embeddings(self) -> int: ...
    @property
    def lexical_ready_sec(self) -> float: ...
    @property
    def total_sec(self) -> float: ...


def summary(stats: _UpdateCounts) -> str:
    """One line about an update."""
    parts = [
        f"{stats.files_total} files, {stats.chunks_total} chunks",
        f"{stats.files_indexed} (re)indexed, {stats.files_removed} removed",
    ]
    if stats.embedded or stats.vectors_reused:
        parts.append(f"{stats.embedded} embedded ({stats.vectors_reused} reused)")
    if stats.pending_embeddings:
        parts.append(f"{stats.pending_embeddings} without embeddings")
    parts.append(f"keyword search ready in {stats.lexical_ready_sec:.1f}s, done in {stats.total_sec:.1f}s")
    return "; ".join(parts)
