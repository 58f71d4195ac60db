"""Traces: the OpenTelemetry SDK, configured once per process, and the span helpers.

Nothing is exported unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or the traces-only
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set: then spans go over OTLP/HTTP to that
collector in batches. Without it the API's no-op tracer is used and a span costs a few
hundred nanoseconds. Tests install their own provider (an in-memory exporter) with
``configure(exporter=...)``.

Context crosses the queue in the task message's headers (W3C ``traceparent``):
``inject_headers()`` on the sending side, ``extracted(headers)`` in the worker.

Model requests follow the GenAI semantic conventions (``gen_ai.*``); the prompt and the
reply are document text and are recorded only when ``SHIPDOC_TELEMETRY__CAPTURE_CONTENT``
is on.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import Span, Status, StatusCode

from core.settings import TelemetrySettings

log = logging.getLogger(__name__)

TRACER_NAME = "shipdoc"
ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")

_lock = threading.Lock()
_provider: TracerProvider | None = None
_settings = TelemetrySettings()

AttrValue = str | bool | int | float | list[str] | list[int] | list[float]


def endpoint_configured() -> bool:
    return any(os.environ.get(name) for name in ENDPOINT_VARS)


def configure(
    settings: TelemetrySettings | None = None, *, exporter: SpanExporter | None = None
) -> bool:
    """Install the SDK tracer provider for this process; True when spans are exported.

    Idempotent: the first call that installs a provider wins (OpenTelemetry allows one
    global provider per process); later calls only update the content-capture setting.
    """
    global _provider, _settings
    with _lock:
        if settings is not None:
            _settings = settings
        if _provider is not None:
            return True
        if exporter is None and not endpoint_configured():
            return False
        attributes: dict[str, Any] = {}
        if not os.environ.get("OTEL_SERVICE_NAME"):
            attributes["service.name"] = _settings.service_name
        provider = TracerProvider(resource=Resource.create(attributes))
        if exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            # Endpoint, headers and timeout come from the OTEL_EXPORTER_OTLP_* variables.
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        else:
            provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        _provider = provider
        _instrument_sqlalchemy()
        log.info("tracing on (OTLP endpoint %s)", os.environ.get(ENDPOINT_VARS[0], "custom"))
        return True


def _instrument_sqlalchemy() -> None:
    """A span per SQL statement (statements, never parameters) of every engine created from
    now on: the instrumentation wraps ``sqlalchemy.create_engine``, which core/db calls."""
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    SQLAlchemyInstrumentor().instrument()


def flush(timeout_ms: int = 5000) -> None:
    """Export what is buffered (end of a CLI command, before a worker child exits)."""
    if _provider is not None:
        _provider.force_flush(timeout_ms)


def capture_content() -> bool:
    return _settings.capture_content


def tracer() -> trace.Tracer:
    return _TRACER


# A proxy until a provider is installed, then the provider's tracer: safe to keep.
_TRACER = trace.get_tracer(TRACER_NAME)


@contextmanager
def span(name: str, attributes: Mapping[str, Any] | None = None, **kind: Any) -> Iterator[Span]:
    """A span around the block; an exception marks it failed (and is raised on)."""
    clean = {k: v for k, v in (attributes or {}).items() if v is not None}
    with tracer().start_as_current_span(name, attributes=clean, **kind) as current:
        yield current


def fail(current: Span, exc: BaseException) -> None:
    """Mark a span failed without an exception escaping it (a recorded outcome)."""
    current.set_status(Status(StatusCode.ERROR, str(exc)[:200]))
    current.set_attribute("error.type", type(exc).__name__)


def inject_headers() -> dict[str, str]:
    """The current trace context as message headers (``traceparent``, ``tracestate``)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


@contextmanager
def extracted(headers: Mapping[str, Any] | None) -> Iterator[None]:
    """Run the block in the trace context carried by ``headers`` (none: a new trace)."""
    carrier = {k: str(v) for k, v in (headers or {}).items() if isinstance(v, str)}
    token = otel_context.attach(propagate.extract(carrier))
    try:
        yield
    finally:
        otel_context.detach(token)
