"""Request validation of the fake provider server: what the real APIs reject with HTTP 400.

OpenAI: every assistant ``tool_calls`` id must be answered by ``tool`` messages before the next
non-tool message, and ``strict`` tool schemas must list every property as required with
``additionalProperties: false``. Anthropic: ``max_tokens`` is required, roles are user/assistant,
text blocks are non-empty, and each ``tool_use`` is answered by a ``tool_result`` in the next message.
"""

from __future__ import annotations

from typing import Any


def validate_openai(body: dict[str, Any]) -> str | None:
    """Return an error message when the chat-completions request would be rejected, else ``None``."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty array"
    for tool in body.get("tools") or []:
        problem = _strict_problem(tool.get("function") or {})
        if problem:
            return problem
    if "parallel_tool_calls" in body and not body.get("tools"):
        return "'parallel_tool_calls' is only allowed when 'tools' are specified."
    return _openai_pairing_problem(messages)


def _openai_pairing_problem(messages: list[dict[str, Any]]) -> str | None:
    pending: list[str] = []
    for index, message in enumerate(messages):
        role = message.get("role")
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in pending:
                return (
                    f"Invalid parameter: messages[{index}]: messages with role 'tool' must be a response to a "
                    f"preceeding message with 'tool_calls' (unknown tool_call_id {call_id!r})."
                )
            pending.remove(call_id)
            continue
        if pending:
            return (
                "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
                f"'tool_call_id'. The following tool_call_ids did not have response messages: {', '.join(pending)}"
            )
        if role == "assistant":
            pending = [c["id"] for c in message.get("tool_calls") or []]
    if pending:
        return (
            "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
            f"'tool_call_id'. The following tool_call_ids did not have response messages: {', '.join(pending)}"
        )
    return None


def _strict_problem(function: dict[str, Any]) -> str | None:
    if not function.get("strict"):
        return None
    return _strict_schema_problem(function.get("name", "?"), function.get("parameters") or {}, "()")


def _strict_schema_problem(name: str, schema: dict[str, Any], context: str) -> str | None:
    if schema.get("type") == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        if schema.get("additionalProperties") is not False:
            return (
                f"Invalid schema for function '{name}': In context={context}, 'additionalProperties' is "
                "required to be supplied and to be false."
            )
        missing = [key for key in props if key not in (schema.get("required") or [])]
        if missing:
            return (
                f"Invalid schema for function '{name}': In context={context}, 'required' is required to be "
                f"supplied and to be an array including every key in properties. Missing '{missing[0]}'."
            )
        for key, sub in props.items():
            problem = _strict_schema_problem(name, sub, f"{context}.{key}")
            if problem:
                return problem
    items = schema.get("items")
    if isinstance(items, dict):
        return _strict_schema_problem(name, items, f"{context}.items")
    return None


def validate_anthropic(body: dict[str, Any]) -> str | None:
    """Return an error message when the messages request would be rejected, else ``None``."""
    if "max_tokens" not in body:
        return "max_tokens: Field required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    for index, message in enumerate(messages):
        if message.get("role") not in ("user", "assistant"):
            return f"messages.{index}.role: Input should be 'user' or 'assistant'"
        problem = _anthropic_blocks_problem(index, message.get("content"))
        if problem:
            return problem
    return _anthropic_pairing_problem(messages) or _thinking_problem(body, messages)


def _blocks(content: object) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _anthropic_blocks_problem(index: int, content: object) -> str | None:
    blocks = _blocks(content)
    if not blocks:
        return f"messages.{index}: all messages must have non-empty content"
    for block in blocks:
        if block.get("type") == "text" and not str(block.get("text", "")).strip():
            return f"messages.{index}: text content blocks must be non-empty"
        if block.get("type") == "tool_use" and not isinstance(block.get("input"), dict):
            return f"messages.{index}: tool_use.input: Input should be a valid dictionary"
    return None


def _thinking_problem(body: dict[str, Any], messages: list[dict[str, Any]]) -> str | None:
    """With thinking on: ``max_tokens`` above the budget, and the assistant turn of an ongoing tool
    loop starts with its (unaltered, signed) thinking block."""
    from tests.fakes.provider_formats import thinking_signature

    thinking = body.get("thinking")
    if not isinstance(thinking, dict) or thinking.get("type") != "enabled":
        return None
    if int(body.get("max_tokens", 0)) <= int(thinking.get("budget_tokens", 0)):
        return "`max_tokens` must be greater than `thinking.budget_tokens`"
    assistants = [m for m in messages if m.get("role") == "assistant"]
    last = _blocks(assistants[-1].get("content")) if assistants else []
    if any(b.get("type") == "tool_use" for b in last) and last[0].get("type") not in ("thinking", "redacted_thinking"):
        return (
            "messages: Expected `thinking` or `redacted_thinking`, but found `tool_use`. When `thinking` is enabled, "
            "a final `assistant` message must start with a thinking block"
        )
    for block in (b for m in assistants for b in _blocks(m.get("content"))):
        if block.get("type") == "thinking" and block.get("signature") != thinking_signature(block.get("thinking", "")):
            return "messages: invalid `signature` in `thinking` block"
    return None


def _anthropic_pairing_problem(messages: list[dict[str, Any]]) -> str | None:
    expected: set[str] = set()
    for index, message in enumerate(messages):
        blocks = _blocks(message.get("content"))
        results = {b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"}
        if message.get("role") == "user":
            unknown = results - expected
            if unknown:
                return (
                    f"messages.{index}.content: unexpected `tool_use_id` found in `tool_result` blocks: "
                    f"{sorted(map(str, unknown))}. Each `tool_result` block must have a corresponding "
                    "`tool_use` block in the previous message."
                )
        if expected - results:
            return (
                f"messages.{index - 1}: `tool_use` ids were found without `tool_result` blocks immediately "
                f"after: {', '.join(sorted(expected - results))}. Each `tool_use` block must have a "
                "corresponding `tool_result` block in the next message."
            )
        expected = {str(b.get("id")) for b in blocks if b.get("type") == "tool_use"}
    if expected:
        return (
            f"messages.{len(messages) - 1}: `tool_use` ids were found without `tool_result` blocks "
            f"immediately after: {', '.join(sorted(expected))}."
        )
    return None
