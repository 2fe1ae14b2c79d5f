"""Turn an MCP ``CallToolResult`` into the text a model reads."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcp_types import CallToolResult, ContentBlock


def render_content(block: ContentBlock) -> str:
    """One content part as text: text verbatim, anything else as a short ``[kind: ...]`` summary."""
    kind = getattr(block, "type", "content")
    if kind == "text":
        return str(getattr(block, "text", ""))
    if kind in ("image", "audio"):
        return f"[{kind}: {getattr(block, 'mime_type', None) or 'unknown type'}]"
    if kind == "resource_link":
        label = getattr(block, "name", None) or ""
        uri = getattr(block, "uri", "")
        return f"[resource link: {label} {uri}]" if label else f"[resource link: {uri}]"
    if kind == "resource":
        resource = getattr(block, "resource", None)
        text = getattr(resource, "text", None)
        if isinstance(text, str):
            return text
        mime = getattr(resource, "mime_type", None) or "binary"
        return f"[resource: {getattr(resource, 'uri', '')} ({mime})]"
    return f"[{kind}]"


def render_result(result: CallToolResult) -> str:
    """All content parts joined with newlines (kwaak's behaviour).

    A result without content parts falls back to its structured content as JSON.
    """
    parts = [render_content(block) for block in result.content]
    if not parts and result.structured_content is not None:
        return _json(result.structured_content)
    return "\n".join(parts)


def _json(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)
