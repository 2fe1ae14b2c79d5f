"""The Logs tab: a ``logging.Handler`` feeding a ``RichLog`` with level filters.

:class:`UILogHandler` keeps the last records in a ring buffer (records may come from worker
threads; the deque is thread-safe for appends). :class:`LogsView` drains it a few times a second.
Keys: ←/→ change the displayed level, ``+``/``-`` the captured level (of the ``kwaak`` logger,
restored on exit), ``c`` clears, End follows the tail again.
"""

from __future__ import annotations

import logging
import time
from collections import deque

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import RichLog, Static

from kwaak.logs import current_log_file
from kwaak.textsafe import escape_controls

LEVELS = (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR)
LEVEL_STYLES = {
    logging.DEBUG: "green",
    logging.INFO: "cyan",
    logging.WARNING: "yellow",
    logging.ERROR: "red",
    logging.CRITICAL: "bold red",
}
LEVEL_ABBREV = {logging.DEBUG: "DEBG", logging.INFO: "INFO", logging.WARNING: "WARN", logging.ERROR: "ERR!"}
CAPTURE_LOGGER = "kwaak"


class UILogHandler(logging.Handler):
    """Collects formatted log records for the Logs tab."""

    def __init__(self, *, capacity: int = 5_000) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: deque[tuple[int, float, str, str]] = deque(maxlen=capacity)
        """``(level, created, logger name, message)``, oldest first."""
        self.total = 0
        """How many records were ever received (the view's read cursor)."""

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record (never raises)."""
        try:
            message = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                message += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        except Exception:
            self.handleError(record)
            return
        self.records.append((record.levelno, record.created, record.name, message))
        self.total += 1


def format_record(level: int, created: float, name: str, message: str) -> Text:
    """``HH:MM:SS LEVL target: message`` coloured by level."""
    stamp = time.strftime("%H:%M:%S", time.localtime(created))
    style = LEVEL_STYLES.get(level, "")
    abbrev = LEVEL_ABBREV.get(level, logging.getLevelName(level)[:4])
    return Text.assemble((stamp, "dim"), " ", (abbrev, style), " ", (name, "dim"), ": ", escape_controls(message))


class LogsView(Vertical, can_focus=True):
    """The log pane and its legend (focused as a whole, so ←/→ filter instead of scrolling)."""

    BINDINGS = [
        Binding("left", "display_level(-1)", "Less", show=False),
        Binding("right", "display_level(1)", "More", show=False),
        Binding("plus,equals_sign", "capture_level(-1)", show=False),
        Binding("minus", "capture_level(1)", show=False),
        Binding("c", "clear", show=False),
        Binding("end", "follow", show=False),
    ]

    def __init__(self, handler: UILogHandler, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.handler = handler
        self.display_level = logging.INFO
        self._cursor = 0
        self._capture = logging.getLogger(CAPTURE_LOGGER)
        self._original_level = self._capture.level

    def compose(self) -> ComposeResult:
        """The log and a legend line."""
        log = RichLog(id="log-view", max_lines=5_000, wrap=True, markup=False, auto_scroll=True)
        log.can_focus = False
        yield log
        yield Static(id="log-legend")

    @property
    def log_view(self) -> RichLog:
        """The log pane."""
        return self.query_one(RichLog)

    def on_mount(self) -> None:
        """Show what was logged so far and poll for more."""
        self._render_legend()
        self.drain()
        self.set_interval(0.25, self.drain)

    def on_unmount(self) -> None:
        """Put the ``kwaak`` logger's level back."""
        self._capture.setLevel(self._original_level)

    def drain(self) -> None:
        """Write records received since the last call."""
        new = self.handler.total - self._cursor
        if new <= 0:
            return
        records = list(self.handler.records)[-min(new, len(self.handler.records)) :]
        self._cursor = self.handler.total
        log = self.log_view
        for record in records:
            if record[0] >= self.display_level:
                log.write(format_record(*record))

    def _rewrite(self) -> None:
        log = self.log_view
        log.clear()
        self._cursor = self.handler.total - len(self.handler.records)
        self.drain()

    def action_display_level(self, step: int) -> None:
        """Show more (→) or fewer (←) levels."""
        self.display_level = _step_level(self.display_level, -step)
        self._render_legend()
        self._rewrite()

    def action_capture_level(self, step: int) -> None:
        """Capture more (+) or fewer (-) records from the ``kwaak`` loggers."""
        current = self._capture.getEffectiveLevel()
        self._capture.setLevel(_step_level(current, step))
        self._render_legend()

    def action_clear(self) -> None:
        """Empty the pane."""
        self.log_view.clear()

    def action_follow(self) -> None:
        """Scroll to the newest record and keep following."""
        log = self.log_view
        log.auto_scroll = True
        log.scroll_end(animate=False)

    def legend(self) -> str:
        """What is shown, truthfully: kwaak's records below the captured level never arrive."""
        captured_level = self._capture.getEffectiveLevel()
        shown = logging.getLevelName(self.display_level)
        captured = logging.getLevelName(captured_level)
        if captured_level > self.display_level:
            levels = f"showing ≥ {shown} (←/→), but kwaak logs only ≥ {captured} (+ for more, - for less)"
        else:
            levels = f"showing ≥ {shown} (←/→)   capturing kwaak ≥ {captured} (+/-)"
        path = current_log_file()
        where = f"   file: {path}" if path is not None else ""
        return f"{levels}   c clear   End follow{where}"

    def _render_legend(self) -> None:
        self.query_one("#log-legend", Static).update(self.legend())


def _step_level(level: int, step: int) -> int:
    """The next level of :data:`LEVELS` in direction ``step`` (+1 = more severe), clamped."""
    index = min(range(len(LEVELS)), key=lambda i: abs(LEVELS[i] - level))
    return LEVELS[max(0, min(len(LEVELS) - 1, index + step))]
