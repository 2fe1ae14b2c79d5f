"""Secret values: ``env:VAR``, ``text:VALUE`` or ``file:PATH``, never printed.

An :class:`ApiKey` keeps where the secret came from (for messages) and the resolved value. Its
``repr``/``str`` and every serialization show ``ApiKey(****)``; the value is only reachable
through :meth:`ApiKey.reveal`.

Validation (pydantic) resolves secrets with the options of :class:`SecretContext`, passed as the
validation context under the key ``"secrets"``: the environment to read ``env:`` from, the
directory relative ``file:`` paths are resolved against, and ``resolve=False`` to check only the
syntax (used by ``kwaak init`` before the user has exported anything).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import GetCoreSchemaHandler, ValidationInfo
from pydantic_core import core_schema

from kwaak.errors import SecretNotFound

MASK = "ApiKey(****)"
PREFIXES = ("env:", "text:", "file:")
CONTEXT_KEY = "secrets"


@dataclass(frozen=True, slots=True, kw_only=True)
class SecretContext:
    """How secrets are resolved during validation."""

    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    """Where ``env:`` names are looked up."""
    base_dir: Path | None = None
    """Relative ``file:`` paths are resolved against this directory (the repository root)."""
    resolve: bool = True
    """``False`` checks only the syntax; the resulting keys are empty placeholders."""


class ApiKey:
    """A resolved secret. Never shows its value except through :meth:`reveal`."""

    __slots__ = ("_source", "_value")

    def __init__(self, value: str, *, source: str = "text") -> None:
        self._value = value
        self._source = source

    @classmethod
    def parse(
        cls,
        raw: str,
        *,
        base_dir: Path | None = None,
        environ: Mapping[str, str] | None = None,
        resolve: bool = True,
    ) -> ApiKey:
        """Resolve ``env:``/``text:``/``file:`` syntax.

        Args:
            raw: The configured value, e.g. ``"env:OPENAI_API_KEY"``.
            base_dir: Directory that relative ``file:`` paths are relative to (default: cwd).
            environ: Environment for ``env:`` (default: ``os.environ``).
            resolve: When false, only check the prefix and return an unresolved placeholder.

        Raises:
            SecretNotFound: the variable is unset or the file cannot be read.
            ValueError: the prefix is missing.
        """
        prefix, sep, rest = raw.partition(":")
        if not sep or f"{prefix}:" not in PREFIXES:
            msg = "expected a secret prefixed with `env:`, `text:` or `file:`"
            raise ValueError(msg)
        if not resolve:
            return cls("", source=raw if prefix != "text" else "text")
        if prefix == "env":
            return cls._from_env(rest, os.environ if environ is None else environ)
        if prefix == "file":
            return cls._from_file(rest, base_dir)
        return cls(rest, source="text")

    @classmethod
    def _from_env(cls, name: str, environ: Mapping[str, str]) -> ApiKey:
        if not name:
            msg = "`env:` needs a variable name"
            raise ValueError(msg)
        value = environ.get(name)
        if value is None:
            msg = f"environment variable {name!r} is not set"
            raise SecretNotFound(msg, hint=f"export {name}=... or use `file:` instead")
        return cls(value, source=f"env:{name}")

    @classmethod
    def _from_file(cls, raw_path: str, base_dir: Path | None) -> ApiKey:
        path = Path(raw_path).expanduser()
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        try:
            return cls(path.read_text(encoding="utf-8").strip(), source=f"file:{path}")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            msg = f"cannot read secret file {str(path)!r}: {reason}"
            raise SecretNotFound(
                msg, hint="check the path after `file:` (relative paths start at the repository root)"
            ) from exc

    def reveal(self) -> str:
        """Return the secret value. Only for handing to a client or subprocess."""
        return self._value

    @property
    def source(self) -> str:
        """Where the secret came from (``env:NAME``, ``file:PATH`` or ``text``); not secret."""
        return self._source

    def __repr__(self) -> str:
        return MASK

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApiKey) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    @classmethod
    def __get_pydantic_core_schema__(cls, source_type: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.with_info_plain_validator_function(
            _validate_secret,
            serialization=core_schema.plain_serializer_function_ser_schema(lambda _v: MASK),
        )


def _validate_secret(value: Any, info: ValidationInfo) -> ApiKey:
    if isinstance(value, ApiKey):
        return value
    if not isinstance(value, str):
        msg = "expected a string like `env:VAR`, `text:VALUE` or `file:PATH`"
        raise ValueError(msg)
    ctx = info.context.get(CONTEXT_KEY) if isinstance(info.context, dict) else None
    options = ctx if isinstance(ctx, SecretContext) else SecretContext()
    try:
        return ApiKey.parse(value, base_dir=options.base_dir, environ=options.environ, resolve=options.resolve)
    except SecretNotFound as exc:
        # pydantic only attaches the key path to ValueErrors; keep the hint for the translator.
        raise ValueError(f"{exc.message} (hint: {exc.hint})" if exc.hint else exc.message) from exc


def collect_secrets(value: object) -> list[str]:
    """All revealed secret values inside a (nested) pydantic model, for log redaction."""
    found: list[str] = []
    _walk(value, found, depth=0)
    return [s for s in found if len(s) >= 4]


def _walk(value: object, found: list[str], *, depth: int) -> None:
    if depth > 12:
        return
    if isinstance(value, ApiKey):
        found.append(value.reveal())
    elif isinstance(value, Mapping):
        for item in value.values():
            _walk(item, found, depth=depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            _walk(item, found, depth=depth + 1)
    elif hasattr(value, "__pydantic_fields__"):
        for name in type(value).__pydantic_fields__:
            _walk(getattr(value, name), found, depth=depth + 1)
