"""Split files into chunks along syntax boundaries.

Code is parsed with tree-sitter. Sibling nodes are packed greedily into chunks of at most
``max_bytes``; a node too big for one chunk is split by recursing into its children (a class into
its methods, a function body into its statements), and the lines before it (a class header,
decorators, comments) travel with its first piece. Chunks always consist of whole lines and tile
the file: concatenating a file's chunks gives the file back, so nothing is ever dropped — unlike
kwaak 0.16.2, small files and small chunks are indexed too.

Markdown is split by headings, then paragraphs. Files in languages without an installed grammar
fall back to paragraph/line windows. A single line longer than ``max_bytes`` (minified code) is cut
into pieces that share its line number.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from tree_sitter import Node, QueryCursor

from kwaak.index.languages import MARKDOWN, definitions_query, parser_for


@dataclass(frozen=True, slots=True, kw_only=True)
class Chunk:
    """A piece of a file, the unit of retrieval."""

    path: str
    """Repository-relative POSIX path."""
    start_line: int
    """First line, 1-based."""
    end_line: int
    """Last line, inclusive."""
    language: str
    """Grammar name (``python``, ``markdown``, ...) or ``text`` for the line-window fallback."""
    symbols: tuple[str, ...]
    """Names defined in this chunk (functions, classes, methods, headings)."""
    context: tuple[str, ...]
    """Names of the definitions enclosing this chunk when it is a piece of a bigger one."""
    content: str


@dataclass(frozen=True, slots=True)
class _Span:
    lo: int
    hi: int
    context: tuple[str, ...] = ()
    piece: tuple[int, int] | None = None
    """Character range inside a single over-long line."""


class _Lines:
    """A file's lines with byte offsets, so sizes of line ranges are O(1)."""

    def __init__(self, text: str) -> None:
        raw = text.split("\n")
        if raw and raw[-1] == "":
            raw.pop()
            self.lines = [line + "\n" for line in raw]
        else:
            self.lines = [line + "\n" for line in raw[:-1]] + raw[-1:]
        self.offsets = [0]
        total = 0
        for line in self.lines:
            total += len(line.encode("utf-8", "surrogatepass")) if not line.isascii() else len(line)
            self.offsets.append(total)

    def __len__(self) -> int:
        return len(self.lines)

    def size(self, lo: int, hi: int) -> int:
        return self.offsets[hi + 1] - self.offsets[lo]

    def text(self, span: _Span) -> str:
        if span.piece is not None:
            return self.lines[span.lo][span.piece[0] : span.piece[1]]
        return "".join(self.lines[span.lo : span.hi + 1])


def chunk_text(path: str, text: str, grammar: str | None, *, max_bytes: int = 2048) -> list[Chunk]:
    """Split one file into chunks.

    Args:
        path: repository-relative POSIX path (stored on each chunk).
        text: the decoded file content.
        grammar: the grammar name from :meth:`LanguageSet.grammar_for`, ``"markdown"``, or ``None``.
        max_bytes: the upper bound of a chunk's size (a single long line is cut to fit).

    Returns:
        The chunks in file order; empty for a blank file.
    """
    if not text.strip():
        return []
    lines = _Lines(text)
    if grammar == MARKDOWN:
        return _markdown(path, lines, max_bytes)
    parser = parser_for(grammar) if grammar else None
    if parser is None or grammar is None:
        return _build(path, lines, _paragraphs(lines, 0, len(lines) - 1, max_bytes), "text", {})
    tree = parser.parse(text.encode("utf-8", "surrogatepass"))
    names = _definitions(grammar, tree.root_node)
    splitter = _TreeSplitter(lines, max_bytes, names)
    spans = splitter.split(tree.root_node, 0, len(lines) - 1, None, ())
    symbols: dict[int, list[str]] = {}
    for (row, _), name in sorted(names.items()):
        symbols.setdefault(row, []).append(name)
    return _build(path, lines, spans, grammar, symbols)


def _definitions(grammar: str, root: Node) -> dict[tuple[int, int], str]:
    """Map (start row, end byte) of each definition node to its name."""
    query = definitions_query(grammar)
    if query is None:
        return {}
    found: dict[tuple[int, int], str] = {}
    for _, captures in QueryCursor(query).matches(root):
        defs, names = captures.get("def"), captures.get("name")
        if not defs or not names or names[0].text is None:
            continue
        name = _clean_name(names[0].text.decode("utf-8", "replace"))
        if name:
            found.setdefault((defs[0].start_point.row, defs[0].end_byte), name)
    return found


_MAX_DEPTH = 60
_GENERICS = re.compile(r"<.*>|\s+")


def _clean_name(raw: str) -> str:
    return _GENERICS.sub("", raw)[:200]


class _TreeSplitter:
    def __init__(self, lines: _Lines, max_bytes: int, names: dict[tuple[int, int], str]) -> None:
        self.lines = lines
        self.max = max_bytes
        # definition start row + end byte identify a node cheaply
        self.names = names

    def _last_row(self, node: Node) -> int:
        end = node.end_point
        if end.column == 0 and end.row > node.start_point.row:
            return end.row - 1
        return end.row

    def split(
        self, node: Node, lo: int, hi: int, pending_hi: int | None, ctx: tuple[str, ...], depth: int = 0
    ) -> list[_Span]:
        """Spans covering lines ``lo..hi``; lines ``lo..pending_hi`` are already packed (they fit)."""
        out: list[_Span] = []
        cur_lo, cur_hi = lo, pending_hi
        for child in node.children:
            c_hi = min(self._last_row(child), hi)
            if c_hi < cur_lo or (cur_hi is not None and c_hi <= cur_hi):
                continue
            if self.lines.size(cur_lo, c_hi) <= self.max:
                cur_hi = c_hi
                continue
            if cur_hi is not None and (
                self.lines.size(cur_hi + 1, c_hi) <= self.max or self.lines.size(cur_lo, cur_hi) > self.max // 2
            ):
                out.append(_Span(cur_lo, cur_hi, ctx))
                cur_lo, cur_hi = cur_hi + 1, None
                if self.lines.size(cur_lo, c_hi) <= self.max:
                    cur_hi = c_hi
                    continue
            out.extend(self._split_big(child, cur_lo, c_hi, cur_hi, ctx, depth + 1))
            cur_lo, cur_hi = c_hi + 1, None
        if cur_lo <= hi:
            if cur_hi is not None and self.lines.size(cur_lo, hi) > self.max:
                out.append(_Span(cur_lo, cur_hi, ctx))
                cur_lo = cur_hi + 1
            out.extend(_windows(self.lines, cur_lo, hi, self.max, ctx))
        return out

    def _split_big(
        self, child: Node, lo: int, hi: int, pending_hi: int | None, ctx: tuple[str, ...], depth: int
    ) -> list[_Span]:
        name = self.names.get((child.start_point.row, child.end_byte))
        inner = (*ctx, name) if name else ctx
        # deeply nested expressions (long operator chains) are cut into windows rather than walked
        if child.child_count == 0 or hi <= child.start_point.row or depth > _MAX_DEPTH:
            return _windows(self.lines, lo, hi, self.max, inner)
        return self.split(child, lo, hi, pending_hi, inner, depth)


def _windows(lines: _Lines, lo: int, hi: int, max_bytes: int, ctx: tuple[str, ...] = ()) -> list[_Span]:
    """Greedy line windows over ``lo..hi``; over-long single lines are cut into pieces."""
    out: list[_Span] = []
    start = lo
    for row in range(lo, hi + 1):
        if lines.size(row, row) > max_bytes:
            if start < row:
                out.append(_Span(start, row - 1, ctx))
            out.extend(_pieces(lines, row, max_bytes, ctx))
            start = row + 1
        elif lines.size(start, row) > max_bytes:
            out.append(_Span(start, row - 1, ctx))
            start = row
    if start <= hi:
        out.append(_Span(start, hi, ctx))
    return out


def _pieces(lines: _Lines, row: int, max_bytes: int, ctx: tuple[str, ...]) -> list[_Span]:
    line = lines.lines[row]
    step = max(1, max_bytes // 4) if not line.isascii() else max_bytes
    return [_Span(row, row, ctx, (i, min(i + step, len(line)))) for i in range(0, len(line), step)]


def _pack(
    lines: _Lines,
    blocks: Sequence[tuple[int, int]],
    max_bytes: int,
    split_big: Callable[[int, int], list[_Span]] | None = None,
) -> list[_Span]:
    """Greedily pack consecutive line blocks; blocks bigger than ``max_bytes`` go to ``split_big``."""
    out: list[_Span] = []
    cur: tuple[int, int] | None = None
    for lo, hi in blocks:
        if cur is not None and lines.size(cur[0], hi) <= max_bytes:
            cur = (cur[0], hi)
            continue
        if cur is not None:
            out.append(_Span(*cur))
            cur = None
        if lines.size(lo, hi) <= max_bytes:
            cur = (lo, hi)
        else:
            out.extend(split_big(lo, hi) if split_big else _windows(lines, lo, hi, max_bytes))
    if cur is not None:
        out.append(_Span(*cur))
    return out


_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")


def _paragraphs(lines: _Lines, lo: int, hi: int, max_bytes: int) -> list[_Span]:
    """Split at blank lines (outside code fences) and pack the paragraphs."""
    blocks: list[tuple[int, int]] = []
    start, fenced = lo, False
    for row in range(lo, hi + 1):
        text = lines.lines[row]
        if _FENCE.match(text):
            fenced = not fenced
        if not fenced and not text.strip() and row > start:
            blocks.append((start, row))
            start = row + 1
    if start <= hi:
        blocks.append((start, hi))
    return _pack(lines, blocks, max_bytes)


def _markdown(path: str, lines: _Lines, max_bytes: int) -> list[Chunk]:
    sections: list[int] = [0]
    headings: dict[int, list[str]] = {}
    fenced = False
    for row, text in enumerate(lines.lines):
        if _FENCE.match(text):
            fenced = not fenced
            continue
        match = None if fenced else _HEADING.match(text)
        if match:
            headings[row] = [match.group(1)]
            if row > 0:
                sections.append(row)
    bounds = [(lo, hi - 1) for lo, hi in zip(sections, [*sections[1:], len(lines)], strict=True)]
    spans = _pack(lines, bounds, max_bytes, lambda lo, hi: _paragraphs(lines, lo, hi, max_bytes))
    return _build(path, lines, spans, MARKDOWN, headings)


def _build(path: str, lines: _Lines, spans: list[_Span], language: str, symbols: dict[int, list[str]]) -> list[Chunk]:
    """Turn spans into chunks; blank spans join a neighbour so the chunks still tile the file."""
    rows = sorted(symbols)
    chunks: list[Chunk] = []
    blank_prefix: tuple[int, str] | None = None
    for span in spans:
        content = lines.text(span)
        if not content.strip():
            if chunks:
                last = chunks[-1]
                chunks[-1] = replace(last, end_line=span.hi + 1, content=last.content + content)
            elif blank_prefix is None:
                blank_prefix = (span.lo, content)
            else:
                blank_prefix = (blank_prefix[0], blank_prefix[1] + content)
            continue
        names = [name for row in _rows_between(rows, span.lo, span.hi) for name in symbols[row]]
        if span.piece is not None and span.piece[0] > 0:
            names = []
        start = span.lo
        if blank_prefix is not None:
            start, content = blank_prefix[0], blank_prefix[1] + content
            blank_prefix = None
        chunks.append(
            Chunk(
                path=path,
                start_line=start + 1,
                end_line=span.hi + 1,
                language=language,
                symbols=tuple(dict.fromkeys(names)),
                context=span.context,
                content=content,
            )
        )
    return chunks


def _rows_between(rows: list[int], lo: int, hi: int) -> list[int]:
    return rows[bisect.bisect_left(rows, lo) : bisect.bisect_right(rows, hi)]
