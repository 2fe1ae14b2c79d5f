"""Tracing fixtures: an in-memory OpenTelemetry provider wired into ``kwaak.telemetry``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from kwaak import telemetry
from kwaak.otel import instrument


@dataclass
class Traced:
    """The spans exported so far and the shutdown that flushes them."""

    exporter: InMemorySpanExporter
    shutdown: Callable[[], None]

    def spans(self) -> list[ReadableSpan]:
        """Finished spans, in the order they ended."""
        return list(self.exporter.get_finished_spans())


@pytest.fixture
def traced() -> Iterator[Callable[..., Traced]]:
    """Start tracing into memory: ``traced(secrets=[...])``; always shut down after the test."""
    started: list[Traced] = []

    def start(*, secrets: list[str] | None = None, command: str | None = None) -> Traced:
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        result = Traced(exporter, instrument(provider, secrets=secrets or [], command=command))
        started.append(result)
        return result

    yield start
    for result in started:
        result.shutdown()
    telemetry.install(None)
