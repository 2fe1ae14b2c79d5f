"""Tracing hooks: ``span(name, **attributes)`` around commands, turns, model and tool calls.

By default every span is a no-op. :func:`install` sets a tracer (OpenTelemetry when
``otel_enabled``; see :mod:`kwaak.otel`). Attributes must never contain secrets or file contents:
pass names, ids, counts and durations only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Protocol


class Span(Protocol):
    """What instrumented code may do with a span."""

    def set_attribute(self, key: str, value: str | int | float | bool) -> None:
        """Attach a (non-secret) attribute."""

    def record_error(self, error: BaseException) -> None:
        """Mark the span as failed."""


class Tracer(Protocol):
    """Creates spans."""

    def span(
        self, name: str, attributes: dict[str, str | int | float | bool]
    ) -> contextlib.AbstractContextManager[Span]:
        """A span that ends when the context exits."""
        ...


class _NoSpan:
    def set_attribute(self, key: str, value: str | int | float | bool) -> None:
        pass

    def record_error(self, error: BaseException) -> None:
        pass


_NO_SPAN = _NoSpan()
_tracer: Tracer | None = None


def install(tracer: Tracer | None) -> None:
    """Use ``tracer`` for every span from now on (``None`` turns tracing off)."""
    global _tracer  # one process-wide tracer, like logging
    _tracer = tracer


@contextlib.contextmanager
def span(name: str, **attributes: str | int | float | bool | None) -> Iterator[Span]:
    """A span named ``name``; a no-op unless a tracer is installed."""
    if _tracer is None:
        yield _NO_SPAN
        return
    clean = {k: v for k, v in attributes.items() if v is not None}
    with _tracer.span(name, clean) as current:
        try:
            yield current
        except BaseException as exc:
            current.record_error(exc)
            raise
