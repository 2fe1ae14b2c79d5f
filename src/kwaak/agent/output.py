"""Replies cut at the output limit (``finish_reason: length``, ``stop_reason: max_tokens``).

A cut reply is never taken as complete: cut text is continued (up to :data:`MAX_CONTINUATIONS`
times in a row, then the agent stops with :class:`ReplyTruncated`); tool calls whose arguments
were cut off are not run, each gets a failed result telling the model to make smaller changes.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from kwaak.errors import KwaakError
from kwaak.messages import AssistantMessage, Message, ToolResult, UserMessage

CONTINUE_CUT = "Your reply was cut off at the output limit. Continue exactly where it stopped, without repeating."
CUT_CALL = (
    "Not run: your reply hit the output limit ({limit} tokens) and this call's arguments were cut off. "
    "Make smaller changes per call (for example several `patch_file` calls) and try again."
)
MAX_CONTINUATIONS = 2
"""Text replies cut at the output limit that are continued before the agent stops with an error."""


class ReplyTruncated(KwaakError):
    """The model's replies keep hitting the output limit."""

    kind = "reply_truncated"


def handle_cut(
    history: list[Message], message: AssistantMessage, in_a_row: int, limit: int, notice: Callable[[str, str], None]
) -> bool:
    """Deal with a cut reply already in ``history``; True when the loop should ask the model again.

    Raises:
        ReplyTruncated: the replies were cut more than :data:`MAX_CONTINUATIONS` times in a row.
    """
    calls = message.tool_calls
    if calls and all(_is_json(c.arguments) for c in calls):
        return False  # the cut came after complete calls: run them
    if in_a_row > MAX_CONTINUATIONS:
        msg = f"the model's reply was cut at the output limit ({limit} tokens) {in_a_row} times in a row"
        raise ReplyTruncated(msg, hint="raise `max_output_tokens` in the model's [llm.*] table, or /retry")
    notice("warning", f"The reply was cut at the output limit ({limit} tokens); asking to continue.")
    if calls:
        content = CUT_CALL.format(limit=limit)
        history.extend(ToolResult(call_id=c.id, name=c.name, content=content, is_error=True) for c in calls)
    else:
        history.append(UserMessage(content=CONTINUE_CUT))
    return True


def _is_json(text: str) -> bool:
    try:
        json.loads(text or "{}")
    except json.JSONDecodeError:
        return False
    return True
