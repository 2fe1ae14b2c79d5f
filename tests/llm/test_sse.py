"""The event-stream parser: the SSE rules providers rely on, fed whole and byte by byte."""

from __future__ import annotations

import pytest

from kwaak.llm.http import ProtocolError
from kwaak.llm.sse import MAX_EVENT_BYTES, Event, SSEDecoder

STREAM = (
    b": keep-alive comment\n\n"
    b'event: message_start\ndata: {"a": 1}\n\n'
    b"data: line one\r\ndata: line two\r\n\r\n"
    b"data:no-space\rid: 7\rretry: 100\r\r"
    b"event: ping\n\n"
    b"data: [DONE]\n\n"
    b"data: cut off at the end"
)
EXPECTED = [
    Event("message_start", '{"a": 1}'),
    Event("message", "line one\nline two"),
    Event("message", "no-space"),
    Event("message", "[DONE]"),
]


def test_events_from_one_chunk() -> None:
    assert SSEDecoder().feed(STREAM) == EXPECTED


def test_events_byte_by_byte() -> None:
    decoder = SSEDecoder()
    events = [event for i in range(len(STREAM)) for event in decoder.feed(STREAM[i : i + 1])]
    assert events == EXPECTED


def test_an_oversized_event_is_refused() -> None:
    decoder = SSEDecoder()
    line = b"data: " + b"x" * (1024 * 1024) + b"\n"
    with pytest.raises(ProtocolError, match="event larger than"):
        for _ in range(MAX_EVENT_BYTES // len(line) + 2):
            decoder.feed(line)


def test_bad_utf8_is_a_decode_error() -> None:
    with pytest.raises(UnicodeDecodeError):
        SSEDecoder().feed(b"data: \xff\xfe\n\n")
