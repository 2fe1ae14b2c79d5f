"""Check a request body against the official SDKs' request types (``TypedDict``\\s), strictly.

The ``openai`` and ``anthropic`` packages describe every request as nested ``TypedDict``\\s
(``CompletionCreateParams``, ``MessageCreateParams``). :func:`problems` walks a JSON body along
such a type and reports unknown fields, missing required fields, wrong types and literals; a
union matches when one of its members matches. (pydantic cannot do this: it ignores extra keys of
nested ``TypedDict``\\s and validates ``Iterable`` fields lazily.)
"""

from __future__ import annotations

import collections.abc
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

from typing_extensions import get_type_hints, is_typeddict

_SEQUENCES = (list, collections.abc.Iterable, collections.abc.Sequence, typing.Iterable, typing.Sequence)
_MAPPINGS = (dict, collections.abc.Mapping, typing.Mapping, dict)
_WRAPPERS = ("Required", "NotRequired", "Annotated", "ReadOnly")


def _unwrap(tp: Any) -> Any:
    while get_origin(tp) is not None and getattr(get_origin(tp), "_name", None) in _WRAPPERS:
        tp = get_args(tp)[0]
    if get_origin(tp) is typing.Annotated:
        tp = get_args(tp)[0]
    return tp


def problems(value: Any, tp: Any, path: str = "body") -> list[str]:
    """Every way ``value`` does not fit ``tp`` (empty when it fits)."""
    tp = _unwrap(tp)
    origin = get_origin(tp)
    if tp is Any or tp is object:
        return []
    if tp is type(None) or tp is None:
        return [] if value is None else [f"{path}: expected null, got {value!r:.60}"]
    if is_typeddict(tp):
        return _typed_dict(value, tp, path)
    if origin in (Union, types.UnionType):
        return _union(value, get_args(tp), path)
    if origin is Literal:
        return [] if value in get_args(tp) else [f"{path}: {value!r:.60} is not one of {get_args(tp)}"]
    if origin in _SEQUENCES or tp in _SEQUENCES:
        if not isinstance(value, list):
            return [f"{path}: expected an array, got {type(value).__name__}"]
        item = get_args(tp)[0] if get_args(tp) else Any
        return [p for i, v in enumerate(value) for p in problems(v, item, f"{path}[{i}]")]
    if origin in _MAPPINGS or tp in _MAPPINGS:
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {type(value).__name__}"]
        args = get_args(tp)
        return [p for k, v in value.items() for p in problems(v, args[1] if args else Any, f"{path}.{k}")]
    return _scalar(value, tp, path)


def _scalar(value: Any, tp: Any, path: str) -> list[str]:
    if tp is bool:
        ok = isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif tp is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif tp is str:
        ok = isinstance(value, str)
    elif isinstance(tp, type):
        ok = isinstance(value, tp)  # e.g. the SDK's response models, which JSON never is
    else:
        return []  # other special forms are not checked
    return [] if ok else [f"{path}: expected {tp.__name__}, got {type(value).__name__} {value!r:.60}"]


def _typed_dict(value: Any, tp: Any, path: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected an object ({tp.__name__}), got {type(value).__name__}"]
    hints = get_type_hints(tp, include_extras=True)
    found = [f"{path}.{k}: unknown field for {tp.__name__}" for k in value if k not in hints]
    found += [f"{path}.{k}: required by {tp.__name__}" for k in sorted(_required(tp, hints)) if k not in value]
    for key, item in value.items():
        if key in hints:
            found += problems(item, hints[key], f"{path}.{key}")
    return found


def _required(tp: Any, hints: dict[str, Any]) -> set[str]:
    """Required keys: marked ``Required[...]``, or required by their class's totality and not ``NotRequired``.

    (With string annotations, ``__required_keys__`` misses ``Required[...]`` keys of ``total=False`` classes.)
    """
    required = set()
    for key, hint in hints.items():
        name = getattr(get_origin(hint), "_name", None)
        if name == "Required" or (key in tp.__required_keys__ and name != "NotRequired"):
            required.add(key)
    return required


def _union(value: Any, members: tuple[Any, ...], path: str) -> list[str]:
    attempts = [problems(value, member, path) for member in members]
    if any(not a for a in attempts):
        return []
    # Report the closest member: the one a discriminator (role/type) selects, else the fewest problems.
    for member, found in zip(members, attempts, strict=True):
        if _discriminated(value, _unwrap(member)):
            return found
    return min(attempts, key=len)


def _discriminated(value: Any, member: Any) -> bool:
    if not (is_typeddict(member) and isinstance(value, dict)):
        return False
    hints = get_type_hints(member)
    for key in ("role", "type"):
        literal = hints.get(key)
        if literal is not None and get_origin(_unwrap(literal)) is Literal and key in value:
            return value[key] in get_args(_unwrap(literal))
    return False


def openai_problems(body: dict[str, Any]) -> list[str]:
    """Problems of a chat-completions request against the ``openai`` SDK's ``CompletionCreateParams``."""
    from openai.types.chat import completion_create_params as params

    kind = params.CompletionCreateParamsStreaming if body.get("stream") else params.CompletionCreateParamsNonStreaming
    return problems(body, kind)


def anthropic_problems(body: dict[str, Any]) -> list[str]:
    """Problems of a messages request against the ``anthropic`` SDK's ``MessageCreateParams``."""
    from anthropic.types import message_create_params as params

    kind = params.MessageCreateParamsStreaming if body.get("stream") else params.MessageCreateParamsNonStreaming
    return problems(body, kind)
