"""Two kwaak processes on one repository: one writer, clear errors, readers keep working."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kwaak.config import Config
from kwaak.errors import IndexingError, IndexLocked
from kwaak.index import CodeIndex
from tests.conftest import base_config_data
from tests.index.conftest import write

OpenIndex = Callable[..., Any]

CHILD = """
import asyncio, json, sys
from pathlib import Path
from kwaak.config import validate_config
from kwaak.index import CodeIndex

async def main():
    repo = Path(sys.argv[1])
    config = validate_config(json.loads(sys.argv[2]), root=repo)
    index = await CodeIndex.open(config, repo, embedder=None)
    print("locked", flush=True)
    for line in sys.stdin:
        if line.strip() == "update":
            stats = await index.update()
            print("updated", stats.files_indexed, flush=True)
        else:
            break
    await index.close()
    print("closed", flush=True)

asyncio.run(main())
"""


@pytest.fixture
def child_writer(shop_repo: Path) -> Iterator[Callable[[], subprocess.Popen[str]]]:
    """Start a second kwaak process holding the index's writer lock."""
    started: list[subprocess.Popen[str]] = []

    def start() -> subprocess.Popen[str]:
        data = json.dumps(base_config_data(shop_repo))
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(shop_repo), data],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        started.append(proc)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "locked"
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()


def _send(proc: subprocess.Popen[str], line: str) -> str:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()
    return proc.stdout.readline().strip()


async def test_second_writer_process_gets_index_locked(
    open_index: OpenIndex, child_writer: Callable[[], subprocess.Popen[str]]
) -> None:
    first = await open_index()
    await first.update()
    await first.close()
    child = child_writer()
    with pytest.raises(IndexLocked) as info:
        await open_index()
    assert str(info.value) == f"index in use by another kwaak (pid {child.pid})"
    assert info.value.hint
    # read-only access still works while the other process holds the lock
    reader: CodeIndex = await open_index(readonly=True)
    assert (await reader.search("ShoppingCart"))[0].path == "src/shop/cart.py"
    with pytest.raises(IndexingError, match="read-only"):
        await reader.update()


async def test_reader_sees_the_other_process_updates(
    open_index: OpenIndex, child_writer: Callable[[], subprocess.Popen[str]], shop_repo: Path
) -> None:
    first = await open_index()
    await first.update()
    await first.close()
    child = child_writer()
    reader: CodeIndex = await open_index(readonly=True)
    write(shop_repo, {"src/shop/coupons.py": "def validate_coupon(code):\n    return code.isalnum()\n"})
    assert _send(child, "update") == "updated 1"
    hits = await reader.search("validate_coupon")
    assert hits[0].path == "src/shop/coupons.py"
    assert _send(child, "close") == "closed"
    writer = await open_index()  # the lock is free again
    assert (await writer.update()).files_indexed == 0


async def test_lock_is_released_when_the_holder_is_killed(
    open_index: OpenIndex, child_writer: Callable[[], subprocess.Popen[str]]
) -> None:
    child = child_writer()
    with pytest.raises(IndexLocked):
        await open_index()
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    index: CodeIndex = await open_index()
    stats = await index.update()
    assert stats.files_indexed == stats.files_total > 0


async def test_second_writer_in_the_same_process_is_refused(open_index: OpenIndex) -> None:
    await open_index()
    with pytest.raises(IndexLocked, match=f"pid {os.getpid()}"):
        await open_index()


async def test_read_only_before_indexing_says_what_to_do(index_config: Config, shop_repo: Path) -> None:
    with pytest.raises(IndexingError) as info:
        await CodeIndex.open(index_config, shop_repo, embedder=None, readonly=True)
    assert "kwaak index" in (info.value.hint or "")


INDEXER = """
import asyncio, json, sys
from pathlib import Path
from kwaak.config import validate_config
from kwaak.index import CodeIndex

async def main():
    repo = Path(sys.argv[1])
    config = validate_config(json.loads(sys.argv[2]), root=repo)
    index = await CodeIndex.open(config, repo, embedder=None)

    def progress(update):
        if update.phase == "chunking" and update.files_done:
            print("progress", update.files_done, flush=True)
            sys.stdin.readline()  # wait here until the parent has killed us

    await index.update(progress)

asyncio.run(main())
"""


def _kill_indexer_midway(repo: Path) -> None:
    """Run an indexer in another process and SIGKILL it after its first batch is stored."""
    proc = subprocess.Popen(
        [sys.executable, "-c", INDEXER, str(repo), json.dumps(base_config_data(repo))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        assert line[0] == "progress" and 0 < int(line[1]) < 309  # some batches are in the database
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()


async def test_kill_during_indexing_leaves_a_consistent_index(open_index: OpenIndex, shop_repo: Path) -> None:
    first: CodeIndex = await open_index()
    await first.update()  # the keyword index is not empty: only the crash flag can reveal the gap
    await first.close()
    write(shop_repo, {f"src/gen/module_{i}.py": f"def generated_function_{i}():\n    return {i}\n" for i in range(300)})
    _kill_indexer_midway(shop_repo)
    index: CodeIndex = await open_index()
    stats = await index.update()
    assert stats.files_total == 309
    assert index.parts.lexical.num_docs() == stats.chunks_total
    for i in (0, 150, 299):
        hits = await index.search(f"generated_function_{i}", k=1)
        assert hits[0].path == f"src/gen/module_{i}.py"
