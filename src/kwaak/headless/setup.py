"""Start-up shared by the headless front ends (``run-agent``, ``batch``)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from kwaak import protocol as p
from kwaak.errors import KwaakError

if TYPE_CHECKING:
    from kwaak.backend import Backend


async def start_headless(backend: Backend, *, skip_indexing: bool) -> None:
    """Remove crashed runs' leftovers and update the index (agents still work without it: warn only)."""
    from kwaak.backend.actions import index_repository

    await backend.start(restore=False)
    if skip_indexing:
        return
    try:
        await index_repository(backend, p.SYSTEM_SESSION)
    except KwaakError as exc:
        print(f"warning: continuing without the code index: {exc.render()}", file=sys.stderr)
