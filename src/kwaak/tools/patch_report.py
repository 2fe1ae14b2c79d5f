"""Explaining why a hunk did not apply: the closest region of the file and the first difference."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from kwaak.tools.patch_parse import Hunk

MAX_EXCERPT_LINES = 12


def _collapse(text: str) -> str:
    return " ".join(text.split())


def closest_region(lines: Sequence[str], hunk: Hunk) -> str:
    """Describe the file region that looks most like ``hunk``'s old lines (or say none does)."""
    old = hunk.old
    if not old:
        return ""
    start, score = _best_start(lines, old, hunk.hint)
    significant = sum(1 for line in old if line.strip())
    if score == 0:
        return "None of its context or removed lines occur in the file; check the file name and the line contents."
    end = min(start + len(old), len(lines))
    excerpt = [f"{i + 1}|{lines[i]}" for i in range(start, end)]
    if len(excerpt) > MAX_EXCERPT_LINES:
        excerpt = [*excerpt[:MAX_EXCERPT_LINES], f"... ({len(excerpt) - MAX_EXCERPT_LINES} more lines)"]
    parts = [
        f"The closest region of the file is lines {start + 1}-{end} ({score} of {significant} non-blank lines match):",
        *excerpt,
    ]
    difference = _first_difference(lines, old, start)
    if difference:
        parts.append(difference)
    return "\n".join(parts)


def _best_start(lines: Sequence[str], old: Sequence[str], hint: int | None) -> tuple[int, int]:
    positions: dict[str, list[int]] = defaultdict(list)
    for i, line in enumerate(lines):
        key = _collapse(line)
        if key:
            positions[key].append(i)
    scores: dict[int, int] = defaultdict(int)
    for k, line in enumerate(old):
        for i in positions.get(_collapse(line), ()):
            if i - k >= 0:
                scores[i - k] += 1
    if not scores:
        return 0, 0
    target = hint if hint is not None else 0
    best = max(scores.items(), key=lambda item: (item[1], -abs(item[0] - target), -item[0]))
    return best[0], best[1]


def _first_difference(lines: Sequence[str], old: Sequence[str], start: int) -> str:
    for k, expected in enumerate(old):
        i = start + k
        if i >= len(lines):
            return f"The hunk expects `{expected}` after the end of the file (line {i + 1})."
        if _collapse(lines[i]) != _collapse(expected):
            return f"First difference: the hunk expects `{expected}` where line {i + 1} reads `{lines[i]}`."
    return ""
