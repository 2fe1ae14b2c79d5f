"""The ``IndexRepository`` op: open the code index if needed, update it, report progress and results.

Every front end indexes through this op (the TUI at start and ``/index_repository``, headless runs,
``kwaak index``). With ``[index] qa_metadata`` the indexing model writes Q&A metadata per chunk; its
usage counts against the team meter like every other model call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kwaak import protocol as p
from kwaak import telemetry
from kwaak.agent.budget import Meter, MeteredModel
from kwaak.backend.runtime import Runtime, usage_info
from kwaak.errors import IndexingError, KwaakError
from kwaak.messages import Usage

if TYPE_CHECKING:
    from kwaak.index.results import IndexProgress, IndexStats

MAX_REPORTED_ERRORS = 100


async def index_repository(rt: Runtime, sid: p.SessionId) -> None:
    """Open the index if needed and update it incrementally, reporting progress, then ``IndexUpdated``.

    Raises:
        IndexingError: the cache directory cannot be written.
    """
    from kwaak.index import CodeIndex

    if rt.index is None:
        meter = Meter()  # the index's own usage (Q&A metadata), for as long as the index stays open
        model = MeteredModel(rt.models.indexing, lambda usage: _count(rt, meter, usage))
        qa_model = model if rt.config.index.qa_metadata else None
        rt.index = await CodeIndex.open(rt.config, rt.repo_root, embedder=rt.models.embedder, model=qa_model)

    def progress(update: IndexProgress) -> None:
        message = update.message or f"Indexing a bit of code {update.done}/{update.total}"
        rt.emit(sid, p.IndexProgress(done=update.done, total=update.total, message=message, phase=update.phase))
        rt.emit(sid, p.Activity(text=message))

    try:
        with telemetry.span("index.update") as span:
            stats = await rt.index.update(progress)
            span.set_attribute("index.chunks", stats.chunks_total)
    except KwaakError:
        raise
    except OSError as exc:
        msg = f"indexing failed: {exc}"
        raise IndexingError(msg, hint="check the cache dir is writable, or run `kwaak clear-cache`") from exc
    rt.emit(sid, updated(stats))
    embedding = [error for error in stats.errors if error.startswith("embedding stopped")]
    if embedding:
        rt.emit(
            sid,
            p.SystemMessage(
                text=f"Semantic code search is off: {embedding[0]}. Keyword search works.",
                level="warning",
                hint="fix the `[llm.embedding]` endpoint, then run /index_repository to try again",
            ),
        )


def updated(stats: IndexStats) -> p.IndexUpdated:
    """The protocol record of an update."""
    return p.IndexUpdated(
        files_total=stats.files_total,
        chunks_total=stats.chunks_total,
        files_indexed=stats.files_indexed,
        files_removed=stats.files_removed,
        embedded=stats.embedded,
        vectors_reused=stats.vectors_reused,
        pending_embeddings=stats.pending_embeddings,
        lexical_ready_sec=round(stats.lexical_ready_sec, 3),
        total_sec=round(stats.total_sec, 3),
        errors=tuple(stats.errors[:MAX_REPORTED_ERRORS]),
        error_count=len(stats.errors),
    )


def _count(rt: Runtime, meter: Meter, usage: Usage) -> None:
    """The index's usage is the system's, never a chat's (the op may have come from a chat's /index_repository)."""
    meter.add(usage)
    rt.team.add(usage)
    rt.emit(p.SYSTEM_SESSION, p.UsageUpdated(session=usage_info(meter), team=usage_info(rt.team)))
