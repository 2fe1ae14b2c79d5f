"""Dense (embedding) search: brute-force cosine over an in-memory numpy matrix.

At 100k chunks × 384 dimensions a matrix-vector product plus ``argpartition`` takes a few
milliseconds, faster than any approximate index we could build and keep fresh here (DuckDB's
``array_cosine_similarity`` took ~80 ms, an HNSW build minutes; see BENCHMARKS.md), and exact.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatMatrix = npt.NDArray[np.float32]
IdArray = npt.NDArray[np.int64]


def normalize(vectors: Sequence[Sequence[float]] | FloatMatrix) -> FloatMatrix:
    """Rows scaled to unit length (zero rows stay zero)."""
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    result: FloatMatrix = (matrix / norms).astype(np.float32)
    return result


class DenseIndex:
    """Vectors keyed by chunk id. Thread-safe: writers add/remove, readers search a snapshot."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: IdArray = np.zeros(0, dtype=np.int64)
        self._matrix: FloatMatrix = np.zeros((0, 0), dtype=np.float32)
        self._pending_ids: list[IdArray] = []
        self._pending: list[FloatMatrix] = []
        self._removed: set[int] = set()

    def __len__(self) -> int:
        with self._lock:
            return len(self._ids) + sum(len(p) for p in self._pending_ids) - len(self._removed)

    @property
    def dimensions(self) -> int:
        """Vector size (0 when empty)."""
        with self._lock:
            if self._pending:
                return int(self._pending[-1].shape[1])
            return int(self._matrix.shape[1]) if len(self._ids) else 0

    def replace(self, ids: IdArray, matrix: FloatMatrix) -> None:
        """Replace everything (after loading from the store)."""
        with self._lock:
            self._ids, self._matrix = ids.astype(np.int64), normalize(matrix) if len(ids) else matrix
            self._pending_ids, self._pending, self._removed = [], [], set()

    def add(self, ids: Sequence[int], vectors: Sequence[Sequence[float]] | FloatMatrix) -> None:
        """Add vectors of new ids (chunk ids are never reused, so nothing is overwritten)."""
        if not len(ids):
            return
        with self._lock:
            self._pending_ids.append(np.asarray(ids, dtype=np.int64))
            self._pending.append(normalize(vectors))

    def remove(self, ids: Sequence[int]) -> None:
        """Forget vectors (ids that are absent are ignored)."""
        with self._lock:
            self._removed.update(int(i) for i in ids)

    def clear(self) -> None:
        """Forget everything."""
        self.replace(np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32))

    def _compact_locked(self) -> None:
        ids, matrix = self._ids, self._matrix
        if self._pending:
            parts = [matrix] if len(ids) else []
            ids = np.concatenate([ids, *self._pending_ids])
            matrix = np.vstack([*parts, *self._pending])
        if self._removed and len(ids):
            keep = ~np.isin(ids, np.fromiter(self._removed, dtype=np.int64, count=len(self._removed)))
            ids, matrix = ids[keep], matrix[keep]
        self._ids, self._matrix = ids, matrix
        self._pending_ids, self._pending, self._removed = [], [], set()

    def search(self, query: Sequence[float], k: int) -> list[tuple[int, float]]:
        """The ``k`` most similar ids with their cosine similarity, best first."""
        with self._lock:
            self._compact_locked()
            ids, matrix = self._ids, self._matrix
        if not len(ids) or k <= 0:
            return []
        q = normalize([list(query)])[0]
        if q.shape[0] != matrix.shape[1]:
            return []
        scores = matrix @ q
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(int(ids[i]), float(scores[i])) for i in top]
