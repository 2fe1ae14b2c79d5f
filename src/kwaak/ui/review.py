"""The review screen (``/review``): one agent's branch against its base, file by file and hunk by hunk.

Left: the changed files with added/removed line counts, and the branch's commits with their
messages. Right: the current file's hunks, syntax-coloured for the file's language on green
(added) or red (removed) lines. Keys: ``n``/``p`` next/previous file, ``j``/``k`` (or ``]``/``[``)
next/previous hunk, ``c`` comments on the current hunk (sent to the agent as a new message),
``m``/``s``/``r`` land by merge, squash or rebase, ``u`` undoes the agent's last turn, ``escape``
closes; ``J``/``K`` select a commit and ``U`` resets the branch to before it (undoing that commit
and the later ones). The screen only posts protocol operations through the ``submit`` callback it is given.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, OptionList, Static

from kwaak import protocol as p

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")
_ADDED, _REMOVED = "on #12351c", "on #3f1518"
MAX_HUNK_LINES = 400
"""Lines of one hunk drawn (longer hunks are cut with a note)."""
MAX_FILE_HUNKS = 200
"""Hunks of one file drawn (the screen stays responsive on huge diffs)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DiffHunk:
    """One hunk of one file."""

    path: str
    header: str
    lines: tuple[str, ...]
    new_start: int


def split_diff(diff: str) -> dict[str, list[DiffHunk]]:
    """File path → its hunks in diff order (binary or mode-only changes map to ``[]``)."""
    files: dict[str, list[DiffHunk]] = {}
    path: str | None = None
    header: str | None = None
    body: list[str] = []

    def flush() -> None:
        if path is not None and header is not None:
            match = _HUNK.match(header)
            start = int(match.group(1)) if match else 0
            files[path].append(DiffHunk(path=path, header=header, lines=tuple(body), new_start=start))

    for line in diff.splitlines():
        if line.startswith("diff --git "):
            flush()
            path, header, body = line.rsplit(" b/", 1)[-1], None, []
            files.setdefault(path, [])
        elif line.startswith("@@") and path is not None:
            flush()
            header, body = line, []
        elif header is not None:
            body.append(line)
    flush()
    return files


def hunk_comment(branch: str, hunk: DiffHunk, comment: str) -> str:
    """The chat message that sends a review comment on ``hunk`` back to the agent."""
    shown = "\n".join(hunk.lines[:60])
    return (
        f"Review comment on your change to `{hunk.path}` (around line {hunk.new_start} of branch `{branch}`):\n\n"
        f"```diff\n{hunk.header}\n{shown}\n```\n\n{comment.strip()}\n\nPlease change this."
    )


def highlight_hunk(hunk: DiffHunk) -> Text:
    """The hunk with the code coloured for its language and added/removed lines on green/red."""
    lines = hunk.lines[:MAX_HUNK_LINES]
    code = "\n".join(line[1:] for line in lines)
    lexer = Syntax.guess_lexer(hunk.path, code)
    coloured = Syntax(code, lexer, theme="monokai", background_color="default").highlight(code)
    parts = coloured.split("\n", allow_blank=True)
    text = Text(hunk.header, style="cyan")
    for index, line in enumerate(lines):
        marker = line[:1]
        part = parts[index] if index < len(parts) else Text(line[1:])
        row = Text(marker or " ", style="bold green" if marker == "+" else "bold red" if marker == "-" else "dim")
        row.append_text(part)
        if marker in "+-" and marker:
            row.stylize(_ADDED if marker == "+" else _REMOVED)
        text.append("\n")
        text.append_text(row)
    if len(hunk.lines) > MAX_HUNK_LINES:
        text.append(f"\n… {len(hunk.lines) - MAX_HUNK_LINES} more lines", style="dim italic")
    return text


def file_label(change: p.ReviewFile) -> Text:
    """``+12 -3  path`` (``binary`` for binary files)."""
    label = Text()
    if change.added < 0:
        label.append("   binary ", style="dim")
    else:
        label.append(f"{'+' + str(change.added):>5}", style="green")
        label.append(f"{'-' + str(change.removed):>5} ", style="red")
    label.append(change.path)
    return label


def commit_label(commit: p.ReviewCommit) -> Text:
    """One commit: short sha, date (UTC), subject and the first line of its body."""
    when = dt.datetime.fromtimestamp(commit.timestamp, tz=dt.UTC).strftime("%m-%d %H:%M")
    text = Text()
    text.append(commit.sha[:8], style="yellow")
    text.append(f" {when} ", style="dim")
    text.append(commit.subject)
    if commit.body:
        text.append(f"\n         {commit.body.splitlines()[0][:70]}", style="dim")
    return text


class ReviewScreen(Screen[None]):
    """A per-file, per-hunk review of one agent's branch."""

    DEFAULT_CSS = """
    ReviewScreen { layout: vertical; }
    #review-title { height: 1; padding: 0 1; background: $primary-background; text-style: bold; }
    #review-body { height: 1fr; }
    #review-side { width: 48; border-right: solid $primary-background-lighten-2; }
    .review-heading { height: 1; padding: 0 1; text-style: bold; color: $text-muted; }
    #review-files { height: 2fr; border: none; }
    #review-commits { height: 1fr; border: none; }
    #review-diff { width: 1fr; padding: 0 1; }
    .review-hunk { margin: 0 0 1 0; border-left: blank; }
    .review-hunk.-current { border-left: thick $accent; }
    .review-note { color: $text-muted; }
    #review-comment { dock: bottom; margin-bottom: 1; }
    """

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("n", "file(1)", "Next file"),
        Binding("p", "file(-1)", "Prev file"),
        Binding("j,right_square_bracket", "hunk(1)", "Next hunk"),
        Binding("k,left_square_bracket", "hunk(-1)", "Prev hunk"),
        Binding("c", "comment", "Comment"),
        Binding("m", "land('merge')", "Merge"),
        Binding("s", "land('squash')", "Squash"),
        Binding("r", "land('rebase')", "Rebase"),
        Binding("u", "undo", "Undo last turn"),
        Binding("J", "commit(1)", "Next commit", show=False),
        Binding("K", "commit(-1)", "Prev commit", show=False),
        Binding("U", "undo_commit", "Undo to before commit"),
    ]

    def __init__(self, review: p.ReviewShown, submit: Callable[[p.Op], None]) -> None:
        super().__init__(id="review")
        self.review = review
        self.submit = submit
        self.hunks = split_diff(review.diff)
        self.file_index = 0
        self.hunk_index = 0

    # -- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """Title, file list and commits on the left, hunks on the right, comment box, key footer."""
        r = self.review
        added = sum(max(f.added, 0) for f in r.files)
        removed = sum(max(f.removed, 0) for f in r.files)
        title = (
            f"Review {r.branch} → {r.base}  ·  {r.ahead} ahead, {r.behind} behind  ·  "
            f"{len(r.files)} file(s) +{added} -{removed}" + ("  ·  diff truncated" if r.truncated else "")
        )
        yield Static(title, id="review-title")
        with Horizontal(id="review-body"):
            with Vertical(id="review-side"):
                yield Static("Files", classes="review-heading")
                yield OptionList(*(file_label(f) for f in r.files), id="review-files")
                yield Static("Commits", classes="review-heading")
                yield OptionList(*(commit_label(c) for c in r.commits), id="review-commits")
            yield VerticalScroll(id="review-diff")
        hint = "Comment on this hunk: enter sends it to the agent, escape cancels"
        yield Input(placeholder=hint, id="review-comment")
        yield Footer()

    def on_mount(self) -> None:
        """Show the first file."""
        self.query_one("#review-comment", Input).display = False
        files = self.query_one("#review-files", OptionList)
        files.focus()
        if self.review.files:
            files.highlighted = 0
        self._show_file()

    # -- navigation -------------------------------------------------------------------------

    @property
    def current_path(self) -> str | None:
        """The file shown on the right."""
        files = self.review.files
        return files[self.file_index].path if files else None

    @property
    def current_hunks(self) -> list[DiffHunk]:
        """The hunks of the current file (as drawn)."""
        path = self.current_path
        return self.hunks.get(path, [])[:MAX_FILE_HUNKS] if path is not None else []

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        """Clicking or arrowing in the file list shows that file."""
        if event.option_list.id == "review-files" and event.option_index != self.file_index:
            self.file_index, self.hunk_index = event.option_index, 0
            self._show_file()

    def action_file(self, step: int) -> None:
        """Next or previous file (wrapping)."""
        if not self.review.files:
            return
        self.file_index = (self.file_index + step) % len(self.review.files)
        self.hunk_index = 0
        self.query_one("#review-files", OptionList).highlighted = self.file_index
        self._show_file()

    def action_hunk(self, step: int) -> None:
        """Next or previous hunk; past the last hunk of a file, on to the next file."""
        hunks = self.current_hunks
        target = self.hunk_index + step
        if 0 <= target < len(hunks):
            self.hunk_index = target
            self._mark_hunk()
        elif len(self.review.files) > 1:
            self.action_file(1 if step > 0 else -1)
            if step < 0:
                self.hunk_index = max(len(self.current_hunks) - 1, 0)
                self._mark_hunk()

    def _show_file(self) -> None:
        pane = self.query_one("#review-diff", VerticalScroll)
        pane.remove_children()
        hunks = self.current_hunks
        if not hunks:
            note = "(no text changes to show: binary, mode change or cut from a long diff)"
            pane.mount(Static(note if self.review.files else "No changes", classes="review-note"))
            return
        pane.mount_all(Static(highlight_hunk(h), classes="review-hunk") for h in hunks)
        total = len(self.hunks.get(self.current_path or "", []))
        if total > MAX_FILE_HUNKS:
            more = f"… {total - MAX_FILE_HUNKS} more hunks in this file (see `kwaak sessions review`)"
            pane.mount(Static(more, classes="review-note"))
        self.call_after_refresh(self._mark_hunk)

    def _mark_hunk(self) -> None:
        widgets = list(self.query(".review-hunk"))
        for index, widget in enumerate(widgets):
            widget.set_class(index == self.hunk_index, "-current")
        if 0 <= self.hunk_index < len(widgets):
            self.query_one("#review-diff", VerticalScroll).scroll_to_widget(widgets[self.hunk_index], animate=False)

    # -- actions ----------------------------------------------------------------------------

    def action_comment(self) -> None:
        """Open the comment box for the current hunk."""
        if not self.current_hunks:
            self.notify("No hunk to comment on", severity="warning")
            return
        box = self.query_one("#review-comment", Input)
        box.display = True
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Send the comment (with the hunk) to the agent as a new message."""
        text = event.value.strip()
        event.input.value = ""
        self._close_comment()
        if not text or not self.current_hunks:
            return
        hunk = self.current_hunks[self.hunk_index]
        self.submit(p.Chat(message=hunk_comment(self.review.branch, hunk, text)))
        self.notify(f"Comment on {hunk.path} sent to the agent")

    def _close_comment(self) -> None:
        box = self.query_one("#review-comment", Input)
        box.display = False
        self.query_one("#review-files", OptionList).focus()

    def action_land(self, mode: p.LandMode) -> None:
        """Land the branch on the reviewed base and close the review."""
        self.submit(p.Land(mode=mode, base=self.review.base))
        self.dismiss()

    def action_undo(self) -> None:
        """Undo the agent's last turn and close the review."""
        self.submit(p.Undo())
        self.dismiss()

    def action_commit(self, step: int) -> None:
        """Move the selection in the commit list (newest first)."""
        commits = self.query_one("#review-commits", OptionList)
        if self.review.commits:
            current = commits.highlighted if commits.highlighted is not None else -1
            commits.highlighted = max(0, min(current + step, len(self.review.commits) - 1))

    def action_undo_commit(self) -> None:
        """Reset the agent's branch to before the selected commit (undoing it and everything after)."""
        index = self.query_one("#review-commits", OptionList).highlighted
        if index is None or not self.review.commits:
            self.notify("Select a commit first (J/K or click)", severity="warning")
            return
        self.submit(p.Undo(commit=f"{self.review.commits[index].sha}^"))
        self.dismiss()

    def action_close(self) -> None:
        """Close the comment box if open, else the review."""
        if self.query_one("#review-comment", Input).display:
            self._close_comment()
        else:
            self.dismiss()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Letter keys type into the comment box while it is open."""
        if action in {"close"}:
            return True
        return not self.query_one("#review-comment", Input).has_focus
