"""Benchmark of ``patch_file``'s pure applier on a large file.

Run: ``.venv/bin/python bench/patch_apply.py [--json FILE]``. Prints milliseconds per case (median of 5).
"""

from __future__ import annotations

import difflib
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from kwaak.tools.patch import PatchError, apply_patch

LINES = [f"    value_{i} = compute({i % 97}, {i % 13})" if i % 7 else "" for i in range(20_000)]
SOURCE = "\n".join(LINES) + "\n"


def _changed() -> list[str]:
    target = list(LINES)
    for i in range(100, len(LINES), 2000):
        target[i] += "  # changed"
    return target


PATCH = "\n".join(difflib.unified_diff(LINES, _changed(), lineterm="", n=3)) + "\n"
SHIFTED = PATCH.replace("@@ -", "@@ -1").replace(" +", " +1")
BROKEN = PATCH.replace("-    value_100 = ", "-    valeu_100 = ")
CONTEXT = "\n".join(" " + line for line in LINES[5000:5010])
NOT_FOUND = f"@@ -1,21 +1,21 @@\n{CONTEXT}\n-nonexistent\n+x\n{CONTEXT}\n"


def _run(patch: str) -> None:
    try:
        apply_patch(SOURCE, patch)
    except PatchError:
        pass


def _median_ms(action: Callable[[], None], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    """Print one line per case (``--json FILE`` also writes them as JSON)."""
    figures: dict[str, float] = {}
    cases = {
        "10 hunks, correct headers": PATCH,
        "10 hunks, wrong line numbers": SHIFTED,
        "10 hunks, one failing (report)": BROKEN,
        "hunk not found, 10+10 context lines": NOT_FOUND,
    }
    print(f"file: {len(LINES)} lines, {len(SOURCE)} bytes")
    for name, patch in cases.items():
        figures[name] = _median_ms(lambda patch=patch: _run(patch))
        print(f"{name:40s} {figures[name]:8.1f} ms")
    if "--json" in sys.argv:
        Path(sys.argv[sys.argv.index("--json") + 1]).write_text(json.dumps({"lines": len(LINES), "ms": figures}))


if __name__ == "__main__":
    main()
