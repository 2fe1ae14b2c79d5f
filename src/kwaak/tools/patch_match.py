"""Locating a hunk in a file by content, from strict to lenient, and rendering its replacement.

Levels, tried in order until one finds the hunk's old lines (context + removed):

1. ``exact``: byte-for-byte;
2. ``trailing whitespace``: lines compared after ``rstrip``;
3. ``whitespace``: runs of whitespace collapsed (indentation and tabs-vs-spaces drift);
4. ``blank lines``: as 3, but blank lines are optional on both sides (dropped or extra blank
   context lines).

A match maps every old line of the hunk to a file line (or to nothing, for a blank line the file
does not have). Lines the hunk keeps are taken from the file, so whitespace the model got wrong
in context lines never leaks into the result; added lines get the file's indentation style.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kwaak.tools.patch_parse import Hunk, Op

Normalizer = Callable[[str], str]


def _identity(text: str) -> str:
    return text


def _rstrip(text: str) -> str:
    return text.rstrip()


def _collapse(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class Level:
    """One matching strictness."""

    name: str
    normalize: Normalizer
    skip_blanks: bool


LEVELS: tuple[Level, ...] = (
    Level("exact", _identity, False),
    Level("trailing whitespace", _rstrip, False),
    Level("whitespace", _collapse, False),
    Level("blank lines", _collapse, True),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Match:
    """Where a hunk's old lines sit in the file."""

    hunk: Hunk
    ops: tuple[tuple[Op, str], ...]
    """The hunk's lines actually applied (edge context may have been trimmed)."""
    start: int
    end: int
    """The file region ``[start, end)`` the hunk replaces."""
    mapping: tuple[int | None, ...]
    """File index of each old line of ``ops`` (``None``: a blank line absent from the file)."""
    level: str
    anchor: int
    """Where the untrimmed hunk would start; compared with the header's line number."""

    def overlaps(self, other: Match) -> bool:
        """Whether two matches touch the same file lines (insertions may share a boundary)."""
        if self.start == self.end:
            return other.start < self.start < other.end
        if other.start == other.end:
            return self.start < other.start < self.end
        return self.start < other.end and other.start < self.end


class Matcher:
    """Finds hunks in one file; caches normalized lines and a line → positions index per level."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = list(lines)
        self._views: dict[str, _View] = {}

    def normalized(self, level: Level) -> list[str]:
        """The file's lines under ``level``'s normalization."""
        return self._view(level).lines

    def _view(self, level: Level) -> _View:
        view = self._views.get(level.name)
        if view is None:
            view = _View([level.normalize(line) for line in self.lines])
            self._views[level.name] = view
        return view

    def find(self, old: Sequence[str], level: Level) -> list[tuple[int, int, tuple[int | None, ...]]]:
        """Every ``(start, end, mapping)`` where ``old`` matches at ``level``."""
        if not old:
            return []
        view = self._view(level)
        old_norm = [level.normalize(line) for line in old]
        if level.skip_blanks:
            return _find_skipping_blanks(view, old_norm)
        width = len(old_norm)
        return [
            (i, i + width, tuple(range(i, i + width)))
            for i in view.positions.get(old_norm[0], ())
            if view.lines[i : i + width] == old_norm
        ]


class _View:
    """A file's normalized lines, with indexes for fast candidate lookup."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.positions: dict[str, list[int]] = {}
        for i, text in enumerate(lines):
            self.positions.setdefault(text, []).append(i)
        self.nonblank_idx = [i for i, text in enumerate(lines) if text]
        self.nonblank = [lines[i] for i in self.nonblank_idx]
        self.nonblank_positions: dict[str, list[int]] = {}
        for p, text in enumerate(self.nonblank):
            self.nonblank_positions.setdefault(text, []).append(p)


def _find_skipping_blanks(view: _View, old_norm: list[str]) -> list[tuple[int, int, tuple[int | None, ...]]]:
    old_idx = [k for k, text in enumerate(old_norm) if text]
    old_text = [old_norm[k] for k in old_idx]
    if not old_idx:
        return []
    found = []
    for p in view.nonblank_positions.get(old_text[0], ()):
        if view.nonblank[p : p + len(old_text)] != old_text:
            continue
        anchors = view.nonblank_idx[p : p + len(old_text)]
        mapping = _map_blanks(len(old_norm), old_idx, anchors, view.lines)
        used = [i for i in mapping if i is not None]
        found.append((min(used), max(used) + 1, tuple(mapping)))
    return found


def _map_blanks(size: int, old_idx: list[int], anchors: list[int], file_norm: list[str]) -> list[int | None]:
    """Map the hunk's blank lines onto the file's blank lines next to the matched anchors."""
    mapping: list[int | None] = [None] * size
    for k, i in zip(old_idx, anchors, strict=True):
        mapping[k] = i
    for q in range(len(old_idx) - 1):
        blanks = iter(range(anchors[q] + 1, anchors[q + 1]))
        for k in range(old_idx[q] + 1, old_idx[q + 1]):
            mapping[k] = next(blanks, None)
    below = anchors[0] - 1
    for k in range(old_idx[0] - 1, -1, -1):
        if below >= 0 and not file_norm[below]:
            mapping[k], below = below, below - 1
    above = anchors[-1] + 1
    for k in range(old_idx[-1] + 1, size):
        if above < len(file_norm) and not file_norm[above]:
            mapping[k], above = above, above + 1
    return mapping


def locate(
    matcher: Matcher, hunk: Hunk, ops: tuple[tuple[Op, str], ...], *, lead_trimmed: int = 0
) -> tuple[str, list[Match]]:
    """All places where ``ops``' old lines match, at the strictest level that finds any."""
    old = [text for op, text in ops if op != "+"]
    for level in LEVELS:
        found = matcher.find(old, level)
        if found:
            return level.name, [
                Match(
                    hunk=hunk,
                    ops=ops,
                    start=start,
                    end=end,
                    mapping=mapping,
                    level=level.name,
                    anchor=max(_first(mapping, start) - lead_trimmed, 0),
                )
                for start, end, mapping in found
            ]
    return "", []


def _first(mapping: tuple[int | None, ...], default: int) -> int:
    return next((i for i in mapping if i is not None), default)


def trimmed_variants(ops: tuple[tuple[Op, str], ...]) -> list[tuple[int, tuple[tuple[Op, str], ...]]]:
    """Copies of ``ops`` with leading/trailing context dropped, fewest dropped first.

    Returns ``(leading lines dropped, ops)`` pairs. Variants keep at least one non-blank old line.
    """
    lead = next((i for i, (op, _) in enumerate(ops) if op != " "), len(ops))
    trail = next((i for i, (op, _) in enumerate(reversed(ops)) if op != " "), len(ops))
    variants = []
    for total in range(1, lead + trail + 1):
        for drop_lead in range(max(0, total - trail), min(lead, total) + 1):
            kept = ops[drop_lead : len(ops) - (total - drop_lead)]
            if any(op != "+" and text.strip() for op, text in kept):
                variants.append((drop_lead, kept))
    return variants


def render(match: Match, file_lines: Sequence[str]) -> list[tuple[str, int | None]]:
    """The replacement of ``match``'s region: ``(text, file index or None for added lines)``.

    File lines inside the region that the hunk skipped (blank lines it left out) are kept, except
    between two removed lines.
    """
    fix_indent = indentation_fixer(match, file_lines)
    out: list[tuple[str, int | None]] = []
    pos = match.start
    old_k = 0
    prev_removed = False
    for op, text in match.ops:
        if op == "+":
            out.append((fix_indent(text), None))
            continue
        idx = match.mapping[old_k]
        old_k += 1
        if idx is None:
            continue
        if not (prev_removed and op == "-"):
            out.extend((file_lines[i], i) for i in range(pos, idx))
        if op == " ":
            out.append((file_lines[idx], idx))
        prev_removed = op == "-"
        pos = idx + 1
    out.extend((file_lines[i], i) for i in range(pos, match.end))
    return out


def indentation_fixer(match: Match, file_lines: Sequence[str]) -> Normalizer:
    """A function re-indenting added lines the way the file indents what the hunk matched."""
    old = [text for op, text in match.ops if op != "+"]
    pairs = {
        (indent_of(hunk_line), indent_of(file_lines[idx]))
        for hunk_line, idx in zip(old, match.mapping, strict=True)
        if idx is not None and hunk_line.strip()
    }
    return indent_transform(pairs)


def indent_transform(pairs: set[tuple[str, str]]) -> Normalizer:
    """A consistent re-indentation mapping each ``(wrong indent, right indent)`` pair, else identity."""
    if all(h == f for h, f in pairs):
        return _identity
    return _prefix_fix(pairs) or _unit_fix(pairs) or _identity


def indent_of(text: str) -> str:
    """The leading whitespace of ``text``."""
    return text[: len(text) - len(text.lstrip())]


def _prefix_fix(pairs: set[tuple[str, str]]) -> Normalizer | None:
    if all(f.endswith(h) for h, f in pairs):
        added = {f[: len(f) - len(h)] for h, f in pairs}
        if len(added) == 1:
            prefix = added.pop()
            return lambda text: prefix + text if text.strip() else text
    if all(h.endswith(f) for h, f in pairs):
        removed = {h[: len(h) - len(f)] for h, f in pairs}
        if len(removed) == 1:
            extra = removed.pop()
            return lambda text: text.removeprefix(extra)
    return None


def _unit_fix(pairs: set[tuple[str, str]]) -> Normalizer | None:
    """Tabs in the file but spaces in the hunk (or the reverse), at a consistent width."""
    hunk_spaces = all(set(h) <= {" "} for h, _ in pairs)
    file_tabs = all(set(f) <= {"\t"} for _, f in pairs)
    if hunk_spaces and file_tabs:
        widths = {len(h) // len(f) for h, f in pairs if f}
        if len(widths) == 1 and all(len(h) == len(f) * next(iter(widths)) for h, f in pairs):
            width = widths.pop()
            return lambda text: _respace(text, " " * width, "\t")
    hunk_tabs = all(set(h) <= {"\t"} for h, _ in pairs)
    file_spaces = all(set(f) <= {" "} for _, f in pairs)
    if hunk_tabs and file_spaces:
        widths = {len(f) // len(h) for h, f in pairs if h}
        if len(widths) == 1 and all(len(f) == len(h) * next(iter(widths)) for h, f in pairs):
            width = widths.pop()
            return lambda text: _respace(text, "\t", " " * width)
    return None


def _respace(text: str, unit: str, replacement: str) -> str:
    indent = indent_of(text)
    count = 0
    while indent.startswith(unit * (count + 1)):
        count += 1
    return replacement * count + text[len(unit) * count :]
