"""Secret values: ``env:VAR``, ``text:VALUE`` or ``file:PATH``, never printed.

An :class:`ApiKey` keeps where the secret came from (for messages) and the resolved value. Its
``repr``/``str`` and every serialization show ``ApiKey(****)``; the value is only reachable
through :meth:`ApiKey.reveal`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from kwaak.errors import SecretNotFound

MASK = "ApiKey(****)"
PREFIXES = ("env:", "text:", "file:")


class ApiKey:
    """A resolved secret. Never shows its value except through :meth:`reveal`."""

    __slots__ = ("_source", "_value")

    def __init__(self, value: str, *, source: str = "text") -> None:
        self._value = value
        self._source = source

    @classmethod
    def parse(cls, raw: str, *, base_dir: Path | None = None) -> ApiKey:
        """Resolve ``env:``/``text:``/``file:`` syntax.

        Raises:
            SecretNotFound: the variable is unset or the file cannot be read.
            ValueError: the prefix is missing.
        """
        if raw.startswith("env:"):
            name = raw[4:]
            value = os.environ.get(name)
            if value is None:
                msg = f"environment variable {name!r} is not set"
                raise SecretNotFound(msg, hint=f"export {name}=... or use `text:`/`file:` instead")
            return cls(value, source=f"env:{name}")
        if raw.startswith("text:"):
            return cls(raw[5:], source="text")
        if raw.startswith("file:"):
            path = Path(raw[5:]).expanduser()
            if base_dir is not None and not path.is_absolute():
                path = base_dir / path
            try:
                return cls(path.read_text(encoding="utf-8").strip(), source=f"file:{path}")
            except OSError as exc:
                msg = f"cannot read secret file {str(path)!r}: {exc.strerror or exc}"
                raise SecretNotFound(msg, hint="check the path after `file:`") from exc
        msg = "expected an api key prefixed with `env:`, `text:` or `file:`"
        raise ValueError(msg)

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
        def validate(value: Any) -> ApiKey:
            if isinstance(value, ApiKey):
                return value
            if not isinstance(value, str):
                msg = "expected a string like `env:VAR`, `text:VALUE` or `file:PATH`"
                raise ValueError(msg)  # noqa: TRY004 - pydantic wants ValueError
            try:
                return cls.parse(value)
            except SecretNotFound as exc:
                # pydantic only attaches the key path to ValueErrors.
                raise ValueError(exc.render().replace("\nhint: ", " (hint: ") + (")" if exc.hint else "")) from exc

        return core_schema.no_info_plain_validator_function(
            validate,
            serialization=core_schema.plain_serializer_function_ser_schema(lambda _v: MASK),
        )
