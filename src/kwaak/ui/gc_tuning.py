"""Garbage-collector settings for the interactive app (issue 26: 32 agents streaming into the TUI).

With 32 agents streaming, Python's cyclic collector ran ~240 times a second and its full
collections walked every object the app, Textual and the engine had created at start-up: single
pauses reached 230 ms, and a key typed at that moment waited for them. Once the backend is up,
:func:`settle` moves every object alive then (modules, classes, widgets: they live as long as the
process) into the collector's permanent generation, which it never scans again, and lets the young
generations grow larger before they are collected. Cyclic garbage made later is still collected.
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 50, 100)
"""Allocations before a young collection, and young/middle collections before the next older one
(CPython's defaults: 700, 10, 10)."""


_settled = False


def settle() -> None:
    """Freeze what exists now and apply :data:`THRESHOLDS`; once per process (later calls do nothing)."""
    global _settled
    if _settled:
        return
    _settled = True
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
