"""An SDK client built on first use, in a worker thread (importing an SDK takes seconds)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar


class _Closable(Protocol):
    async def close(self) -> None: ...


C = TypeVar("C", bound=_Closable)


class LazyClient(Generic[C]):
    """Builds the client once, off the event loop; closing forgets it (the next use builds anew)."""

    def __init__(self, build: Callable[[], C]) -> None:
        self._build = build
        self._client: C | None = None

    async def get(self) -> C:
        """The client, built in a worker thread on first use."""
        if self._client is None:
            self._client = await asyncio.to_thread(self._build)
        return self._client

    async def aclose(self) -> None:
        """Close the client if it was built."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()
