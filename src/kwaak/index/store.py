"""The index's source of truth: a DuckDB file ``<cache_dir>/index.duckdb``, plus the writer lock.

Tables: ``files`` (path, sha256, size, mtime, kind, status, error, chunks), ``chunks`` (id, path,
lines, language, kind, symbols, context, content, qa, text_hash, vector) and ``meta`` (key/value).
Paths are canonical (see :mod:`kwaak.index.files`). A file's row is written in the same
transaction as its chunks, so a file is never marked done before its chunks are stored; missing
vectors (``NULL``) are simply embedded by the next update.

DuckDB allows one read-write *or* several read-only processes on a file. The connection is
therefore only open while an update writes or while a reader loads; the writer keeps an OS lock
(``fcntl.flock`` on ``index.lock``) for its whole life, so a second writer gets a clear
:class:`~kwaak.errors.IndexLocked` instead of a corrupt index. Extensions are never downloaded.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from kwaak.errors import IndexingError, IndexLocked
from kwaak.index.dense import FloatMatrix, IdArray

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS files (
    path VARCHAR, sha256 VARCHAR, size BIGINT, mtime DOUBLE, kind VARCHAR,
    status VARCHAR, error VARCHAR, chunks INTEGER
);
CREATE TABLE IF NOT EXISTS chunks (
    id BIGINT, path VARCHAR, start_line INTEGER, end_line INTEGER, language VARCHAR, kind VARCHAR,
    symbols VARCHAR, context VARCHAR, content VARCHAR, qa VARCHAR, text_hash VARCHAR, vector FLOAT[]
);
"""
_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class FileRow:
    """What the store knows about an indexed file."""

    path: str
    sha256: str
    size: int
    mtime: float
    status: str
    """``ok`` or ``failed`` (retried by the next update)."""
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChunkRow:
    """A chunk to insert."""

    id: int
    path: str
    start_line: int
    end_line: int
    language: str
    kind: str
    symbols: tuple[str, ...]
    context: tuple[str, ...]
    content: str
    qa: str | None
    text_hash: str


class WriterLock:
    """An exclusive, non-blocking ``flock`` on ``<cache_dir>/index.lock`` holding our pid."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock.

        Raises:
            IndexLocked: another process (or another index object) holds it.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            msg = f"index in use by another kwaak (pid {holder})"
            raise IndexLocked(
                msg, hint="wait for it to finish, close the other kwaak, or open the index read-only"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Release the lock (idempotent)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class Store:
    """Short-lived DuckDB connections to the index file."""

    def __init__(self, path: Path, *, readonly: bool) -> None:
        self.path = path
        self.readonly = readonly

    @contextlib.contextmanager
    def connect(self, *, timeout: float = 10.0) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open a connection, retrying while another process briefly holds the file.

        Raises:
            IndexingError: the file cannot be opened (locked for longer than ``timeout``, corrupt).
        """
        if self.readonly and not self.path.exists():
            msg = f"no index at {str(self.path)!r} yet"
            raise IndexingError(msg, hint="run `kwaak index` first")
        deadline = time.monotonic() + timeout
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=self.readonly, config=_CONFIG)
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    msg = f"cannot open the index database {str(self.path)!r}: {exc}"
                    raise IndexingError(msg, hint="close other kwaak processes, or run `kwaak clear-cache`") from exc
                time.sleep(0.05)
        try:
            if not self.readonly:
                run(con, _SCHEMA)
            yield con
        finally:
            con.close()


def run(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> None:
    """Execute a statement and consume its result (DuckDB refuses new work while one is pending)."""
    con.execute(sql, params).fetchall()


def one(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> tuple[Any, ...] | None:
    """The first row of a query (the whole result is consumed)."""
    rows = con.execute(sql, params).fetchall()
    return tuple(rows[0]) if rows else None


def get_meta(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    """A meta value."""
    row = one(con, "SELECT value FROM meta WHERE key = ?", [key])
    return str(row[0]) if row else None


def set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    """Set a meta value."""
    run(con, "INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])


def load_files(con: duckdb.DuckDBPyConnection) -> dict[str, FileRow]:
    """Every file row by path."""
    rows = con.execute("SELECT path, sha256, size, mtime, status, error FROM files").fetchall()
    return {r[0]: FileRow(path=r[0], sha256=r[1], size=r[2], mtime=r[3], status=r[4], error=r[5]) for r in rows}


def next_chunk_id(con: duckdb.DuckDBPyConnection) -> int:
    """One more than the largest chunk id ever used."""
    row = one(con, "SELECT max(id) FROM chunks")
    stored = int(get_meta(con, "next_id") or 1)
    return max(stored, int(row[0]) + 1 if row and row[0] is not None else 1)


def chunk_ids_of(con: duckdb.DuckDBPyConnection, paths: Sequence[str]) -> list[int]:
    """Ids of the chunks of ``paths``."""
    if not paths:
        return []
    _register(con, "p", {"path": np.array(list(paths), dtype=object)})
    try:
        return [int(r[0]) for r in con.execute("SELECT id FROM chunks WHERE path IN (SELECT path FROM p)").fetchall()]
    finally:
        con.unregister("p")


def old_vectors(con: duckdb.DuckDBPyConnection, paths: Sequence[str]) -> dict[str, list[float]]:
    """``text_hash → vector`` of the embedded chunks of ``paths`` (to reuse unchanged chunks' vectors)."""
    if not paths:
        return {}
    _register(con, "p", {"path": np.array(list(paths), dtype=object)})
    try:
        rows = con.execute(
            "SELECT text_hash, vector FROM chunks WHERE vector IS NOT NULL AND path IN (SELECT path FROM p)"
        ).fetchall()
    finally:
        con.unregister("p")
    return {str(r[0]): list(r[1]) for r in rows}


def replace_files(
    con: duckdb.DuckDBPyConnection, remove: Sequence[str], files: Sequence[FileRow], chunks: Sequence[ChunkRow]
) -> None:
    """In one transaction: drop the chunks and rows of ``remove``, then insert ``files`` and ``chunks``."""
    run(con, "BEGIN TRANSACTION")
    try:
        if remove:
            _register(con, "gone", {"path": np.array(list(remove), dtype=object)})
            run(con, "DELETE FROM chunks WHERE path IN (SELECT path FROM gone)")
            run(con, "DELETE FROM files WHERE path IN (SELECT path FROM gone)")
            con.unregister("gone")
        if files:
            _insert(con, "files", _file_columns(files))
        if chunks:
            _insert(con, "chunks", _chunk_columns(chunks), extra="NULL")
        run(con, "COMMIT")
    except BaseException:
        run(con, "ROLLBACK")
        raise


def touch_files(con: duckdb.DuckDBPyConnection, files: Sequence[FileRow]) -> None:
    """Record new size/mtime of files whose content did not change."""
    if not files:
        return
    _register(con, "t", _file_columns(files))
    try:
        run(con, "UPDATE files SET size = t.size, mtime = t.mtime FROM t WHERE files.path = t.path")
    finally:
        con.unregister("t")


def _file_columns(files: Sequence[FileRow]) -> dict[str, Any]:
    return {
        "path": np.array([f.path for f in files], dtype=object),
        "sha256": np.array([f.sha256 for f in files], dtype=object),
        "size": np.array([f.size for f in files], dtype=np.int64),
        "mtime": np.array([f.mtime for f in files], dtype=np.float64),
        "kind": np.array(["" for _ in files], dtype=object),
        "status": np.array([f.status for f in files], dtype=object),
        "error": np.array([f.error for f in files], dtype=object),
        "chunks": np.zeros(len(files), dtype=np.int32),
    }


def _chunk_columns(chunks: Sequence[ChunkRow]) -> dict[str, Any]:
    def col(values: list[Any]) -> Any:
        return np.array(values, dtype=object)

    return {
        "id": np.array([c.id for c in chunks], dtype=np.int64),
        "path": col([c.path for c in chunks]),
        "start_line": np.array([c.start_line for c in chunks], dtype=np.int32),
        "end_line": np.array([c.end_line for c in chunks], dtype=np.int32),
        "language": col([c.language for c in chunks]),
        "kind": col([c.kind for c in chunks]),
        "symbols": col(["\n".join(c.symbols) for c in chunks]),
        "context": col(["\n".join(c.context) for c in chunks]),
        "content": col([c.content for c in chunks]),
        "qa": col([c.qa for c in chunks]),
        "text_hash": col([c.text_hash for c in chunks]),
    }


def _register(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, Any]) -> None:
    con.register(name, columns)


def _insert(con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, Any], extra: str = "") -> None:
    _register(con, "src", columns)
    try:
        select = ", ".join(columns) + (f", {extra}" if extra else "")
        run(con, f"INSERT INTO {table} SELECT {select} FROM src")
    finally:
        con.unregister("src")


def set_vectors(con: duckdb.DuckDBPyConnection, ids: Sequence[int], vectors: FloatMatrix) -> None:
    """Store vectors of chunks by id."""
    if not len(ids):
        return
    rows = np.empty(len(ids), dtype=object)
    rows[:] = list(np.asarray(vectors, dtype=np.float32))
    _register(con, "v", {"id": np.asarray(ids, dtype=np.int64), "vec": rows})
    try:
        run(con, "UPDATE chunks SET vector = v.vec::FLOAT[] FROM v WHERE chunks.id = v.id")
    finally:
        con.unregister("v")


def load_vectors(con: duckdb.DuckDBPyConnection, dimensions: int) -> tuple[IdArray, FloatMatrix]:
    """All stored vectors of the given size."""
    result = con.execute(
        "SELECT id, vector FROM chunks WHERE vector IS NOT NULL AND len(vector) = ?", [dimensions]
    ).fetchnumpy()
    ids = np.asarray(result["id"], dtype=np.int64)
    if not len(ids):
        return ids, np.zeros((0, dimensions), dtype=np.float32)
    matrix: FloatMatrix = np.stack(list(result["vector"])).astype(np.float32)
    return ids, matrix
