"""OpenTelemetry tracing for ``otel_enabled = true`` (kwaak's ``kwaak_tracing.rs``).

:func:`setup_tracing` builds a ``TracerProvider`` exporting over OTLP/HTTP (protobuf) with a batch
processor; the standard ``OTEL_EXPORTER_OTLP_*`` variables choose the endpoint (by default
``http://localhost:4318/v1/traces``, Jaeger's all-in-one). The service name comes from
``OTEL_SERVICE_NAME``, else ``service.name`` in ``OTEL_RESOURCE_ATTRIBUTES``, else ``kwaak``.
It installs an adapter into :mod:`kwaak.telemetry`, so the engine's spans (``command.<op>``,
``agent.turn``, ``llm.completion``, ``tool.<name>``) become OTel spans under one root ``main`` span,
and returns the function that ends ``main`` and flushes the exporter.

Attribute values pass through :class:`AttributeSanitizer`: every configured secret is masked and
strings are capped, so no key and no file content leaves the process. Errors are recorded as the
exception type and a short, masked message (no tracebacks, which may quote values).

The OpenTelemetry packages are an optional extra (``kwaak[otel]``) imported only here, only when
tracing is enabled.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from kwaak import __version__, telemetry
from kwaak.errors import ConfigError

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from kwaak.config import Config

AttributeValue = str | int | float | bool
DEFAULT_SERVICE_NAME = "kwaak"
MAX_ATTRIBUTE_CHARS = 200
MASK = "****"
FLUSH_TIMEOUT_S = 3.0
"""How long exit waits for the last spans (an unreachable collector must not hang kwaak)."""
ENABLED_MESSAGE = "OpenTelemetry tracing enabled"


def service_name(environ: Mapping[str, str]) -> str:
    """``OTEL_SERVICE_NAME``, else ``service.name`` in ``OTEL_RESOURCE_ATTRIBUTES``, else ``kwaak``."""
    explicit = environ.get("OTEL_SERVICE_NAME", "").strip()
    if explicit:
        return explicit
    for pair in environ.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
        key, sep, value = pair.partition("=")
        if sep and key.strip() == "service.name" and value.strip():
            return unquote(value.strip())
    return DEFAULT_SERVICE_NAME


class AttributeSanitizer:
    """Masks secrets in, and caps the length of, span attribute values."""

    def __init__(self, secrets: Iterable[str] = (), *, max_chars: int = MAX_ATTRIBUTE_CHARS) -> None:
        # Longest first so that a secret containing another is masked whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._max_chars = max_chars

    def clean(self, value: AttributeValue) -> AttributeValue:
        """A safe version of ``value`` (numbers and booleans pass unchanged)."""
        if not isinstance(value, str):
            return value
        text = value
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        if len(text) > self._max_chars:  # masked first, so the cut cannot expose part of a secret
            text = text[: self._max_chars - 1] + "…"
        return text

    def clean_all(self, attributes: Mapping[str, AttributeValue]) -> dict[str, AttributeValue]:
        """:meth:`clean` every value."""
        return {key: self.clean(value) for key, value in attributes.items()}


class OtelSpan:
    """A :class:`kwaak.telemetry.Span` over an OpenTelemetry span."""

    def __init__(self, span: Any, sanitizer: AttributeSanitizer) -> None:
        self._span = span
        self._sanitizer = sanitizer

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        """Attach a sanitized attribute."""
        self._span.set_attribute(key, self._sanitizer.clean(value))

    def record_error(self, error: BaseException) -> None:
        """Mark the span failed with the error's type and a masked, short message.

        Control flow is not a failure: a cancellation (an agent stopped by the user, kwaak shutting
        down) sets ``cancelled = true``, the ``stop`` tool ending the run sets ``agent.stopped = true``.
        """
        from kwaak.tools.base import StopAgent

        if isinstance(error, asyncio.CancelledError):
            self._span.set_attribute("cancelled", True)
            return
        if isinstance(error, StopAgent):
            self._span.set_attribute("agent.stopped", True)
            return
        from opentelemetry.trace import Status, StatusCode

        message = self._sanitizer.clean(str(error))
        kind = type(error).__name__
        self._span.add_event("exception", {"exception.type": kind, "exception.message": message})
        self._span.set_status(Status(StatusCode.ERROR, f"{kind}: {message}"))


class OtelTracer:
    """A :class:`kwaak.telemetry.Tracer` creating current (parent-linked) OpenTelemetry spans."""

    def __init__(self, tracer: Any, sanitizer: AttributeSanitizer) -> None:
        self._tracer = tracer
        self._sanitizer = sanitizer

    @contextlib.contextmanager
    def span(self, name: str, attributes: dict[str, AttributeValue]) -> Iterator[OtelSpan]:
        """A span that is the current span (the parent of spans started inside it) until exit."""
        with self._tracer.start_as_current_span(
            name,
            attributes=self._sanitizer.clean_all(attributes),
            record_exception=False,  # unsanitized messages and tracebacks: record_error does it
            set_status_on_exception=False,
        ) as otel_span:
            yield OtelSpan(otel_span, self._sanitizer)


def instrument(
    provider: TracerProvider, *, secrets: Iterable[str] = (), command: str | None = None
) -> Callable[[], None]:
    """Send kwaak's spans to ``provider`` under a root ``main`` span.

    Args:
        provider: The configured provider (its processors decide where spans go).
        secrets: Values that must never appear in an attribute.
        command: The CLI verb, recorded on ``main``.

    Returns:
        Shutdown: ends ``main``, uninstalls the tracer, flushes and shuts the provider down
        (idempotent; meant for ``atexit``).
    """
    from opentelemetry import context, trace

    sanitizer = AttributeSanitizer(secrets)
    tracer = provider.get_tracer("kwaak", __version__)
    attributes: dict[str, AttributeValue] = {"kwaak.version": __version__}
    if command:
        attributes["command"] = sanitizer.clean(command)
    main = tracer.start_span("main", attributes=attributes)
    token = context.attach(trace.set_span_in_context(main))
    telemetry.install(OtelTracer(tracer, sanitizer))
    done: list[bool] = []

    def shutdown() -> None:
        if done:
            return
        done.append(True)
        telemetry.install(None)
        main.end()
        with contextlib.suppress(ValueError, RuntimeError):
            context.detach(token)
        _bounded(provider.shutdown, FLUSH_TIMEOUT_S)

    return shutdown


def _bounded(flush: Callable[[], object], seconds: float) -> None:
    """Run ``flush`` (which exports, with retries) but wait for it at most ``seconds``."""
    try:
        worker = threading.Thread(target=flush, name="kwaak-otel-flush", daemon=True)
        worker.start()
    except RuntimeError:  # no new threads while the interpreter shuts down
        flush()
        return
    worker.join(seconds)


def _otlp_provider(environ: Mapping[str, str]) -> TracerProvider:
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        msg = "otel_enabled = true needs the OpenTelemetry packages"
        raise ConfigError(msg, hint="pip install 'kwaak[otel]'") from exc
    resource = Resource.create({"service.name": service_name(environ), "service.version": __version__})
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)  # ours is bounded
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def setup_tracing(config: Config, *, command: str | None = None) -> Callable[[], None] | None:
    """Start exporting spans when ``config.otel_enabled``.

    Args:
        config: The loaded configuration (``otel_enabled`` and the secrets to keep out of spans).
        command: The CLI verb, recorded on the ``main`` span.

    Returns:
        The shutdown function (call it on exit to flush), or ``None`` when tracing is off.

    Raises:
        ConfigError: tracing is enabled but the ``otel`` extra is not installed.
    """
    if not config.otel_enabled:
        return None
    from kwaak.config.secrets import collect_secrets

    provider = _otlp_provider(os.environ)
    print(ENABLED_MESSAGE, file=sys.stderr)
    return instrument(provider, secrets=collect_secrets(config), command=command)
