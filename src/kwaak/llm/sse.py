"""Server-sent events (``text/event-stream``) from a streamed :class:`~kwaak.llm.http.Response`.

Lines end in ``\\n``, ``\\r\\n`` or ``\\r``; ``data:`` lines accumulate (joined with ``\\n``),
``event:`` names the event (Anthropic), lines starting with ``:`` are comments, and a blank line
dispatches. An event cut off by the end of the stream is dropped (as the SSE spec says). Lines and
events are bounded: a server cannot make kwaak buffer without limit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from kwaak.llm.http import ProtocolError, Response

MAX_LINE_BYTES = 8 * 1024 * 1024
MAX_EVENT_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Event:
    """One dispatched event: its name (``message`` when unnamed) and data."""

    event: str
    data: str


class SSEDecoder:
    """Incremental parser: feed bytes, get the events completed by them."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._scanned = 0  # bytes of the buffer known to hold no line end
        self._data: list[str] = []
        self._size = 0
        self._event = ""

    def feed(self, chunk: bytes) -> list[Event]:
        """Parse ``chunk``; returns the events it completed.

        Raises:
            ProtocolError: a line or an event over the limits.
            UnicodeDecodeError: a line that is not UTF-8.
        """
        buffer = self._buffer
        buffer += chunk
        events: list[Event] = []
        start = 0
        while True:
            end = _line_end(buffer, max(start, self._scanned))
            if end < 0:
                break
            if buffer[end] == 0x0D and end + 1 == len(buffer):
                break  # a lone CR at the end: wait for a possible LF
            line = bytes(buffer[start:end])
            start = end + (2 if buffer[end : end + 2] == b"\r\n" else 1)
            self._scanned = start
            event = self._line(line)
            if event is not None:
                events.append(event)
        del buffer[:start]
        self._scanned = max(0, self._scanned - start)
        if len(buffer) > MAX_LINE_BYTES:
            raise ProtocolError(f"the server sent an event-stream line longer than {MAX_LINE_BYTES // 1024**2} MiB")
        self._scanned = max(self._scanned, len(buffer) - 1)
        return events

    def _line(self, raw: bytes) -> Event | None:
        if not raw:
            if not self._data:
                self._event = ""
                return None
            event = Event(self._event or "message", "\n".join(self._data))
            self._data, self._size, self._event = [], 0, ""
            return event
        if raw[0] == 0x3A:  # ":" comment (keep-alive pings)
            return None
        name, _, value = raw.decode("utf-8").partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._size += len(value) + 1
            if self._size > MAX_EVENT_BYTES:
                raise ProtocolError(f"the server sent an event larger than {MAX_EVENT_BYTES // 1024**2} MiB")
            self._data.append(value)
        elif name == "event":
            self._event = value
        return None


def _line_end(buffer: bytearray, start: int) -> int:
    lf = buffer.find(b"\n", start)
    cr = buffer.find(b"\r", start, lf if lf >= 0 else len(buffer))
    return cr if cr >= 0 else lf


async def events(response: Response) -> AsyncIterator[Event]:
    """The events of a streamed response body."""
    decoder = SSEDecoder()
    async for chunk in response.aiter_bytes():
        for event in decoder.feed(chunk):
            yield event
