"""Applying LLM-written unified diffs to text: pure functions, text in, text out, or a precise error.

:func:`apply_patch` relocates every hunk by content (the header's line numbers are only a
tie-breaker between equally good places), tolerates whitespace and blank-line drift, wrong or
missing counts, bare ``@@`` headers, missing ``---``/``+++`` headers, duplicated hunks and wrong
edge context, and re-indents added lines like the surrounding file. It applies all hunks or none:
when any hunk fails, :class:`PatchError` says which one and why, and shows the closest region of
the file so the model can fix its patch. Line endings (LF/CRLF) and a missing final newline are
preserved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kwaak.tools.patch_match import LEVELS, Match, Matcher, locate, render, trimmed_variants
from kwaak.tools.patch_parse import Hunk, PatchParseError, parse_patch
from kwaak.tools.patch_report import closest_region

__all__ = ["HunkFailure", "PatchError", "PatchResult", "apply_patch"]

RETRY_ADVICE = (
    "Copy context and removed lines exactly from `read_file_with_line_numbers` (without the `N|` prefix), "
    "then send the whole corrected patch again. If the changes were already applied, do not apply them twice."
)


@dataclass(frozen=True, slots=True, kw_only=True)
class HunkFailure:
    """Why one hunk could not be applied."""

    hunk: Hunk
    reason: str
    detail: str = ""
    """The closest region of the file, or other help."""

    def describe(self) -> str:
        """A paragraph for the model."""
        parts = [f"Hunk {self.hunk.number} (`{self.hunk.header}`): {self.reason}"]
        if self.detail:
            parts.append(self.detail)
        parts.append("The hunk:\n" + self.hunk.body())
        return "\n".join(parts)


class PatchError(ValueError):
    """The patch could not be applied; nothing was changed."""

    def __init__(self, message: str, failures: Sequence[HunkFailure] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.failures = tuple(failures)

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True, kw_only=True)
class PatchResult:
    """The patched text and what happened on the way."""

    text: str
    hunks: int
    """How many hunks were applied."""
    notes: tuple[str, ...] = ()
    """Tolerated problems worth telling the model (duplicates dropped, relocated hunks)."""


@dataclass(slots=True)
class _Document:
    lines: list[str]
    eols: list[str]
    newline: str

    @classmethod
    def parse(cls, text: str) -> _Document:
        if not text:
            return cls([], [], "\n")
        parts = text.split("\n")
        eols = ["\n"] * (len(parts) - 1) + [""]
        if parts[-1] == "":
            parts.pop()
            eols.pop()
        lines: list[str] = []
        for i, part in enumerate(parts):
            if eols[i] and part.endswith("\r"):
                lines.append(part[:-1])
                eols[i] = "\r\n"
            else:
                lines.append(part)
        crlf = sum(1 for eol in eols if eol == "\r\n")
        return cls(lines, eols, "\r\n" if crlf * 2 > len(eols) else "\n")

    @property
    def final_newline(self) -> bool:
        return bool(self.eols) and self.eols[-1] != ""


def apply_patch(original: str, patch: str) -> PatchResult:
    """Apply the unified diff ``patch`` to ``original``.

    Raises:
        PatchError: the patch has no hunks, or at least one hunk could not be placed (the message
            names each failed hunk, the reason and the closest region of the file).
    """
    try:
        parsed = parse_patch(patch)
    except PatchParseError as exc:
        raise PatchError(str(exc)) from exc
    doc = _Document.parse(original)
    matcher = Matcher(doc.lines)
    hunks, notes = _effective_hunks(parsed, matcher)
    if not hunks:
        msg = "the patch contains no changes: every hunk has only context lines (use `+` and `-` lines)"
        raise PatchError(msg)
    matches, failures = _locate_all(hunks, matcher)
    if failures:
        raise PatchError(_failure_message(failures, len(parsed)), failures)
    notes.extend(_relocation_notes(matches))
    return PatchResult(text=_assemble(doc, matches), hunks=len(matches), notes=tuple(notes))


def _effective_hunks(hunks: list[Hunk], matcher: Matcher) -> tuple[list[Hunk], list[str]]:
    """Drop hunks without changes and duplicates of earlier hunks (unless the file has room for both)."""
    kept: list[Hunk] = []
    notes: list[str] = []
    for hunk in hunks:
        if not hunk.changes:
            notes.append(f"hunk {hunk.number} has no `+` or `-` lines and was ignored")
            continue
        twins = [other for other in kept if other.lines == hunk.lines]
        if twins and not _room_for_all(hunk, twins, matcher):
            notes.append(f"hunk {hunk.number} duplicates hunk {twins[0].number} and was ignored")
            continue
        kept.append(hunk)
    return kept, notes


def _room_for_all(hunk: Hunk, twins: list[Hunk], matcher: Matcher) -> bool:
    starts = {twin.old_start for twin in twins}
    if hunk.old_start is None or hunk.old_start in starts:
        return False
    return not hunk.old or len(matcher.find(hunk.old, LEVELS[2])) > len(twins)


def _locate_all(hunks: list[Hunk], matcher: Matcher) -> tuple[list[Match], list[HunkFailure]]:
    claimed: list[Match] = []
    failures: list[HunkFailure] = []
    prev_end = 0
    for hunk in hunks:
        outcome = _locate_hunk(matcher, hunk, claimed, prev_end)
        if isinstance(outcome, HunkFailure):
            failures.append(outcome)
        else:
            claimed.append(outcome)
            prev_end = outcome.end
    return claimed, failures


def _locate_hunk(matcher: Matcher, hunk: Hunk, claimed: list[Match], prev_end: int) -> Match | HunkFailure:
    if not hunk.old:
        return _insertion(hunk, len(matcher.lines))
    _, found = locate(matcher, hunk, hunk.lines)
    choice = _choose(_free(found, claimed), hunk, prev_end)
    if choice is not None:
        return choice
    if found:
        other = next(c.hunk.number for c in claimed if any(c.overlaps(m) for m in found))
        return HunkFailure(hunk=hunk, reason=f"it changes the same lines as hunk {other}; merge the two hunks.")
    applied = _already_applied(matcher, hunk)
    if applied is not None:
        reason = (
            f"it seems to be applied already: its resulting lines are in the file at lines {applied[0] + 1}-"
            f"{applied[1]}. Leave it out of the patch."
        )
        return HunkFailure(hunk=hunk, reason=reason)
    return _locate_trimmed(matcher, hunk, claimed, prev_end)


def _locate_trimmed(matcher: Matcher, hunk: Hunk, claimed: list[Match], prev_end: int) -> Match | HunkFailure:
    """Drop leading/trailing context lines that do not match (models often get them wrong)."""
    for lead, ops in trimmed_variants(hunk.lines):
        _, found = locate(matcher, hunk, ops, lead_trimmed=lead)
        free = _free(found, claimed)
        if not free:
            continue
        if hunk.hint is None and len(free) > 1:
            where = ", ".join(str(m.start + 1) for m in free[:5])
            reason = (
                f"its context lines do not match the file, and without them it matches {len(free)} places "
                f"(lines {where}). Give correct context lines or the line numbers in the `@@` header."
            )
            return HunkFailure(hunk=hunk, reason=reason)
        choice = _choose(free, hunk, prev_end)
        if choice is not None:
            return choice
    reason = "its context and removed lines were not found in the file."
    return HunkFailure(hunk=hunk, reason=reason, detail=closest_region(matcher.lines, hunk))


def _free(found: list[Match], claimed: list[Match]) -> list[Match]:
    return [m for m in found if not any(m.overlaps(c) for c in claimed)]


def _choose(free: list[Match], hunk: Hunk, prev_end: int) -> Match | None:
    """Nearest to the header's line number; without one, the first after the previous hunk."""
    if not free:
        return None
    hint = hunk.hint
    if hint is not None:
        return min(free, key=lambda m: (abs(m.anchor - hint), m.anchor))
    after = [m for m in free if m.start >= prev_end]
    return (after or free)[0]


def _insertion(hunk: Hunk, size: int) -> Match | HunkFailure:
    """A hunk with only added lines goes where its header says (after line ``a`` for ``-a,0``)."""
    if hunk.old_start is None:
        if size == 0:
            return Match(hunk=hunk, ops=hunk.lines, start=0, end=0, mapping=(), level="insert", anchor=0)
        reason = "it only adds lines and has neither context lines nor a line number; add unchanged lines around it."
        return HunkFailure(hunk=hunk, reason=reason)
    index = hunk.old_start if hunk.old_count == 0 else max(hunk.old_start - 1, 0)
    if index > size:
        reason = f"it adds lines after line {index}, but the file has only {size} lines; add context lines."
        return HunkFailure(hunk=hunk, reason=reason)
    return Match(hunk=hunk, ops=hunk.lines, start=index, end=index, mapping=(), level="insert", anchor=index)


def _already_applied(matcher: Matcher, hunk: Hunk) -> tuple[int, int] | None:
    new = hunk.new
    if not any(line.strip() for line in new) or new == hunk.old:
        return None
    for level in LEVELS:
        found = matcher.find(new, level)
        if found:
            return found[0][0], found[0][1]
    return None


def _relocation_notes(matches: list[Match]) -> list[str]:
    notes = []
    for m in matches:
        hint = m.hunk.hint
        if hint is not None and m.level != "insert" and abs(m.anchor - hint) > 0:
            notes.append(f"hunk {m.hunk.number} was applied at line {m.anchor + 1} (header said {hint + 1})")
    return notes


def _assemble(doc: _Document, matches: list[Match]) -> str:
    out: list[tuple[str, int | None]] = []
    pos = 0
    for m in sorted(matches, key=lambda m: (m.start, m.end, m.hunk.number)):
        out.extend((doc.lines[i], i) for i in range(pos, m.start))
        out.extend(render(m, doc.lines))
        pos = max(pos, m.end)
    out.extend((doc.lines[i], i) for i in range(pos, len(doc.lines)))
    if not out:
        return ""
    eols = [doc.eols[i] if i is not None and doc.eols[i] else doc.newline for _, i in out]
    if not _final_newline(doc, matches):
        eols[-1] = ""
    return "".join(text + eol for (text, _), eol in zip(out, eols, strict=True))


def _final_newline(doc: _Document, matches: list[Match]) -> bool:
    at_end = [m for m in matches if m.end == len(doc.lines)]
    if any(m.hunk.new_no_eol for m in at_end):
        return False
    if any(m.hunk.old_no_eol for m in at_end):
        return True
    return doc.final_newline or not doc.lines


def _failure_message(failures: list[HunkFailure], total: int) -> str:
    count = f"{len(failures)} of {total} hunks" if total > 1 else "the hunk"
    parts = [f"{count} could not be applied, so no changes were made to the file."]
    parts.extend(failure.describe() for failure in failures)
    parts.append(RETRY_ADVICE)
    return "\n\n".join(parts)
