"""Overlap detection: did two agents change the same hunks of the same files?

Each branch's changes are taken as zero-context hunks against the two branches' merge base, in
the base file's line numbers, so ranges from both branches can be compared directly.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kwaak.git.cli import run_git

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@")


@dataclass(frozen=True, slots=True)
class Hunk:
    """Lines ``start..start+count-1`` of ``path`` in the base were changed (``count`` 0: insertion after ``start``)."""

    path: str
    start: int
    count: int

    @property
    def span(self) -> tuple[int, int]:
        """Inclusive line range; an insertion touches the lines around it."""
        if self.count == 0:
            return self.start, self.start + 1
        return self.start, self.start + self.count - 1

    def overlaps(self, other: Hunk) -> bool:
        """Same file and intersecting line ranges."""
        (a1, a2), (b1, b2) = self.span, other.span
        return self.path == other.path and a1 <= b2 and b1 <= a2


@dataclass(frozen=True, slots=True)
class Overlap:
    """Two agents changed intersecting lines of one file."""

    path: str
    first: str
    second: str
    first_lines: tuple[int, int]
    second_lines: tuple[int, int]


def parse_hunks(diff: str) -> list[Hunk]:
    """Hunks of a ``git diff -U0`` output."""
    hunks: list[Hunk] = []
    path: str | None = None
    for line in diff.splitlines():
        if line.startswith("--- "):
            old = line[4:]
            path = old[2:] if old.startswith("a/") else None
        elif line.startswith("+++ ") and path is None:
            new = line[4:]
            path = new[2:] if new.startswith("b/") else None
        elif (match := _HUNK.match(line)) and path is not None:
            count = int(match.group(2)) if match.group(2) is not None else 1
            hunks.append(Hunk(path=path, start=int(match.group(1)), count=count))
    return hunks


async def changed_hunks(repo: Path, base: str, ref: str) -> list[Hunk]:
    """What ``ref`` changed relative to ``base``."""
    result = await run_git(repo, "diff", "-U0", "--no-color", "--no-ext-diff", base, ref)
    return parse_hunks(result.stdout)


async def find_overlaps(repo: Path, refs: Mapping[str, str]) -> list[Overlap]:
    """Overlapping changes between every pair of ``refs`` (label → branch or commit)."""
    overlaps: list[Overlap] = []
    for (name_a, ref_a), (name_b, ref_b) in itertools.combinations(refs.items(), 2):
        base = await run_git(repo, "merge-base", ref_a, ref_b, check=False)
        if not base.ok:
            continue
        sha = base.stdout.strip()
        hunks_a, hunks_b = await changed_hunks(repo, sha, ref_a), await changed_hunks(repo, sha, ref_b)
        for ha, hb in itertools.product(hunks_a, hunks_b):
            if ha.overlaps(hb):
                overlaps.append(
                    Overlap(path=ha.path, first=name_a, second=name_b, first_lines=ha.span, second_lines=hb.span)
                )
    return overlaps


def describe_overlaps(overlaps: list[Overlap]) -> list[str]:
    """Human lines, one per overlap."""
    return [
        f"{o.first} and {o.second} both changed {o.path} "
        f"(lines {o.first_lines[0]}-{o.first_lines[1]} and {o.second_lines[0]}-{o.second_lines[1]})"
        for o in overlaps
    ]
