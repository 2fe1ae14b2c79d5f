"""The values the index hands out: search hits, progress updates and update statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Phase = Literal["scanning", "chunking", "qa", "embedding", "done"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Hit:
    """One search result: a chunk (or, with ``files=True``, a file and its best chunk)."""

    path: str
    start_line: int
    end_line: int
    score: float
    content: str
    symbols: tuple[str, ...] = ()
    language: str = ""
    kind: str = "code"
    """``code``, ``test`` or ``doc``."""
    signals: dict[str, int] = field(default_factory=dict)
    """File rankings only: this file's 1-based rank in each signal that returned it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexProgress:
    """A progress update of :meth:`CodeIndex.update`."""

    phase: Phase
    files_done: int = 0
    files_total: int = 0
    chunks: int = 0
    """Chunks written so far in this update."""
    embedded: int = 0
    to_embed: int = 0
    lexical_ready: bool = False
    """Keyword search already reflects the repository."""
    message: str = ""

    @property
    def done(self) -> int:
        """A single done counter for simple progress bars."""
        return self.embedded if self.phase == "embedding" else self.files_done

    @property
    def total(self) -> int:
        """The matching total."""
        return self.to_embed if self.phase == "embedding" else self.files_total


@dataclass(slots=True, kw_only=True)
class IndexStats:
    """What an update did."""

    files_total: int = 0
    """Files in the index after the update."""
    files_indexed: int = 0
    """Files (re)chunked in this update."""
    files_unchanged: int = 0
    files_removed: int = 0
    files_failed: int = 0
    chunks_total: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    embedded: int = 0
    """Chunks embedded in this update."""
    vectors_reused: int = 0
    """Chunks whose vector was reused from identical text (no embedding call)."""
    pending_embeddings: int = 0
    """Chunks still without a vector (no embedder, or it failed; retried next time)."""
    qa_generated: int = 0
    lexical_ready_sec: float = 0.0
    total_sec: float = 0.0
    errors: list[str] = field(default_factory=list)
    """Problems that did not stop the update (failed files, embedding errors)."""

    @property
    def dense_complete(self) -> bool:
        """Every chunk has a vector."""
        return self.pending_embeddings == 0
