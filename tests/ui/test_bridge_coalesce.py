"""Streamed fragments are merged per message before the UI applies a batch."""

from __future__ import annotations

from kwaak import protocol as p
from kwaak.ui.bridge import coalesce_deltas


def _delta(sid: str, mid: str, text: str) -> p.Event:
    return p.Event(session_id=sid, msg=p.AssistantDelta(message_id=mid, text=text))


def test_deltas_merge_per_message_across_interleaved_sessions() -> None:
    activity = p.Event(session_id="a", msg=p.Activity(text="running tool"))
    events = [
        _delta("a", "m1", "Hel"),
        _delta("b", "x1", "Wor"),
        _delta("a", "m1", "lo"),
        _delta("b", "x1", "ld"),
        activity,
        _delta("a", "m1", "!"),  # after another event of session a: kept apart (order matters)
        _delta("a", "m2", "new"),
    ]
    merged = coalesce_deltas(events)
    texts = [(e.session_id, e.msg.kind, getattr(e.msg, "text", "")) for e in merged]
    assert texts == [
        ("a", "assistant_delta", "Hello"),
        ("b", "assistant_delta", "World"),
        ("a", "activity", "running tool"),
        ("a", "assistant_delta", "!"),
        ("a", "assistant_delta", "new"),
    ]
    # The concatenated stream of every session is unchanged.
    for sid in ("a", "b"):
        before = "".join(e.msg.text for e in events if e.session_id == sid and isinstance(e.msg, p.AssistantDelta))
        after = "".join(e.msg.text for e in merged if e.session_id == sid and isinstance(e.msg, p.AssistantDelta))
        assert before == after
