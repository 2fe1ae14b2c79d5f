"""``kwaak.messages`` ↔ OpenAI chat-completions wire format (also Azure, OpenRouter, Ollama).

Pure functions and small helpers, no SDK import:

* :func:`to_openai_messages` – history to ``messages`` (a Summary is an assistant turn).
* :func:`to_openai_tools` – tool specs in *strict* mode when the schema allows it: every property
  is listed in ``required``, ``additionalProperties`` is false, and optional top-level parameters
  become nullable; :func:`clean_arguments` removes the ``null`` the model then sends for them, so
  tools see a missing argument (and use their default) as they would without strict mode.
* :class:`ToolCallAssembler` – tool calls from streamed deltas.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, assert_never

from kwaak.messages import (
    AssistantMessage,
    Message,
    SummaryMessage,
    SystemMessage,
    ToolCall,
    ToolResult,
    ToolSpec,
    UserMessage,
)

JsonDict = dict[str, Any]

_NOT_STRICT_KEYWORDS = frozenset(
    {
        "oneOf",
        "allOf",
        "not",
        "if",
        "then",
        "else",
        "patternProperties",
        "dependencies",
        "dependentSchemas",
        "dependentRequired",
        "unevaluatedProperties",
        "propertyNames",
    }
)
_DROP_KEYWORDS = ("title", "default", "examples")


def to_openai_message(message: Message) -> JsonDict:
    """One history message in OpenAI form."""
    match message:
        case SystemMessage(content=content):
            return {"role": "system", "content": content}
        case UserMessage(content=content):
            return {"role": "user", "content": content}
        case SummaryMessage(content=content):
            return {"role": "assistant", "content": content}
        case AssistantMessage(content=content, tool_calls=calls):
            if not calls:
                return {"role": "assistant", "content": content or ""}
            return {
                "role": "assistant",
                "content": content or None,
                "tool_calls": [
                    {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments or "{}"}}
                    for c in calls
                ],
            }
        case ToolResult(call_id=call_id, content=content):
            return {"role": "tool", "tool_call_id": call_id, "content": content}
        case _:
            assert_never(message)


def to_openai_messages(messages: Sequence[Message]) -> list[JsonDict]:
    """The ``messages`` array of a chat-completions request."""
    return [to_openai_message(m) for m in messages]


# ------------------------------------------------------------------------------------------
# tools
# ------------------------------------------------------------------------------------------


class _NotStrict(Exception):
    """The schema uses something OpenAI's strict mode cannot express."""


def strict_parameters(schema: Mapping[str, Any]) -> tuple[JsonDict, frozenset[str]] | None:
    """Convert a JSON schema to strict mode.

    Returns:
        The strict schema and the names of top-level parameters that were optional (now nullable),
        or ``None`` when the schema cannot be expressed in strict mode.
    """
    node = copy.deepcopy(dict(schema))
    node.setdefault("type", "object")
    node.setdefault("properties", {})
    try:
        optional = _strict_object(node, top=True)
        for defs in ("$defs", "definitions"):
            for sub in (node.get(defs) or {}).values():
                _strictify(sub)
    except _NotStrict:
        return None
    return node, optional


def _strictify(node: JsonDict) -> None:
    if _NOT_STRICT_KEYWORDS & node.keys():
        raise _NotStrict
    for key in _DROP_KEYWORDS:
        node.pop(key, None)
    if node.get("type") == "object" or "properties" in node:
        _strict_object(node, top=False)
    if isinstance(node.get("items"), dict):
        _strictify(node["items"])
    for sub in node.get("anyOf") or []:
        _strictify(sub)
    if not ({"type", "anyOf", "$ref", "enum", "const"} & node.keys()):
        raise _NotStrict  # "any value" has no strict form


def _strict_object(node: JsonDict, *, top: bool) -> frozenset[str]:
    if _NOT_STRICT_KEYWORDS & node.keys() or node.get("additionalProperties") not in (None, False):
        raise _NotStrict
    for key in _DROP_KEYWORDS:
        node.pop(key, None)
    props: JsonDict = node.setdefault("properties", {})
    required = set(node.get("required") or [])
    optional = frozenset(props) - required
    if optional and not top:
        raise _NotStrict  # we can only strip the nulls of top-level parameters
    for name, sub in props.items():
        if not isinstance(sub, dict):
            raise _NotStrict
        _strictify(sub)
        if name in optional:
            props[name] = _nullable(sub)
    node["required"] = list(props)
    node["additionalProperties"] = False
    return optional


def _nullable(node: JsonDict) -> JsonDict:
    if "$ref" in node or "anyOf" in node:
        options = node.pop("anyOf", None) or [{"$ref": node.pop("$ref")}]
        return {**node, "anyOf": [*options, {"type": "null"}]}
    kind = node.get("type")
    if isinstance(kind, str):
        node["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        node["type"] = [*kind, "null"]
    if isinstance(node.get("enum"), list) and None not in node["enum"]:
        node["enum"] = [*node["enum"], None]
    return node


@dataclass(frozen=True, slots=True)
class OpenAITools:
    """The ``tools`` array plus, per tool, the optional parameters whose ``null`` must be removed."""

    tools: list[JsonDict]
    optional: dict[str, frozenset[str]]


def to_openai_tools(specs: Sequence[ToolSpec]) -> OpenAITools:
    """Tool specs as OpenAI function tools, strict where possible."""
    tools: list[JsonDict] = []
    optional: dict[str, frozenset[str]] = {}
    for spec in specs:
        function: JsonDict = {"name": spec.name, "description": spec.description}
        converted = strict_parameters(spec.parameters)
        if converted is None:
            function["parameters"] = dict(spec.parameters)
        else:
            function["parameters"], optional[spec.name] = converted
            function["strict"] = True
        tools.append({"type": "function", "function": function})
    return OpenAITools(tools=tools, optional=optional)


def clean_arguments(raw: str, optional: frozenset[str] | None) -> str:
    """Drop ``null`` values of optional parameters (strict mode's way of leaving them out)."""
    if not optional or not raw:
        return raw or "{}"
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError:
        return raw
    if not isinstance(parsed, dict) or not any(parsed.get(k, 0) is None for k in optional):
        return raw
    return json.dumps({k: v for k, v in parsed.items() if not (k in optional and v is None)})


# ------------------------------------------------------------------------------------------
# streaming
# ------------------------------------------------------------------------------------------


@dataclass
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class ToolCallAssembler:
    """Collects ``delta.tool_calls`` fragments (keyed by ``index``) into complete tool calls."""

    _calls: dict[int, _PartialCall] = field(default_factory=dict)

    def add(self, index: int, *, call_id: str | None, name: str | None, arguments: str | None) -> None:
        """Merge one fragment."""
        call = self._calls.setdefault(index, _PartialCall())
        if call_id:
            call.id = call_id
        if name:
            call.name += name if call.name != name else ""
        if arguments:
            call.arguments.append(arguments)

    def calls(self, optional: Mapping[str, frozenset[str]] | None = None) -> tuple[ToolCall, ...]:
        """The assembled calls in index order (nulls of optional parameters removed)."""
        optional = optional or {}
        return tuple(
            ToolCall(
                id=c.id or f"call_{i}",
                name=c.name,
                arguments=clean_arguments("".join(c.arguments), optional.get(c.name)),
            )
            for i, c in sorted(self._calls.items())
        )
