"""Blocking host-side file work of one agent, bounded and timed out, on daemon threads.

Each executor (so each session) owns a :class:`FileWorker`: at most ``slots`` of its file
operations run at once, each on its own daemon thread, and every wait ends after ``timeout``
seconds. A call that never returns (a hung network filesystem, a FIFO that slipped through) keeps
its slot until it really ends, so one agent can stall only its own file tools — never another
agent's, never the event loop, and never kwaak's exit (daemon threads are not joined, unlike the
default executor that ``asyncio.to_thread`` uses).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from kwaak.executors.safefs import DEFAULT_MAX_READ_BYTES

if TYPE_CHECKING:
    from kwaak.config.model import LimitsConfig

T = TypeVar("T")


class FileWorkTimeout(TimeoutError):
    """A host-side file operation did not finish in time (or the agent's file slots stayed busy)."""


@dataclass(frozen=True, slots=True)
class FileLimits:
    """Bounds of an agent's host-side file work (from ``[limits]``)."""

    max_read_bytes: int = DEFAULT_MAX_READ_BYTES
    timeout_sec: float = 30.0
    slots: int = 2

    @classmethod
    def from_config(cls, limits: LimitsConfig) -> FileLimits:
        """The limits configured under ``[limits]``."""
        return cls(
            max_read_bytes=limits.max_read_file_bytes,
            timeout_sec=limits.file_timeout_sec,
            slots=limits.file_workers_per_agent,
        )


class FileWorker:
    """Runs one agent's blocking file calls with a concurrency bound and a timeout."""

    def __init__(self, limits: FileLimits | None = None) -> None:
        """Create a worker; threads are started per call, so an unused worker costs nothing."""
        self.limits = limits or FileLimits()
        self._free = asyncio.Semaphore(self.limits.slots)

    async def run(self, what: str, fn: Callable[[], T]) -> T:
        """Run ``fn()`` on a daemon thread and return its result (or raise its exception).

        Raises:
            FileWorkTimeout: no slot freed up, or ``fn`` did not finish, within the timeout.
        """
        timeout = self.limits.timeout_sec
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                await self._free.acquire()
        except TimeoutError:
            msg = f"{what}: the agent's earlier file operations are still stuck after {timeout:g} seconds"
            raise FileWorkTimeout(msg) from None
        future: asyncio.Future[T] = loop.create_future()
        # A result that arrives after the wait gave up is dropped without an "exception never retrieved".
        future.add_done_callback(lambda f: None if f.cancelled() else f.exception())

        def finish(outcome: Callable[[], None]) -> None:  # on the loop: free the slot, settle the future
            self._free.release()
            if not future.done():
                outcome()

        def work() -> None:
            try:
                result = fn()
            except BaseException as exc:  # handed to the awaiting task
                error = exc
                outcome = lambda: future.set_exception(error)  # noqa: E731
            else:
                outcome = lambda: future.set_result(result)  # noqa: E731
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile (kwaak is exiting)
                loop.call_soon_threadsafe(finish, outcome)

        try:
            threading.Thread(target=work, name=f"kwaak-file:{what[:40]}", daemon=True).start()
        except BaseException:
            self._free.release()
            raise
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            msg = f"{what} did not finish within {timeout:g} seconds (`limits.file_timeout_sec`)"
            raise FileWorkTimeout(msg) from None
