"""A server span per HTTP request and WebSocket, named by route template.

``opentelemetry-instrumentation-asgi`` wraps the app's ASGI callable; the gRPC calls a
handler makes run inside that span, so their client interceptors (``runtime.telemetry``)
carry its trace to auth and analytics.

The gateway is the public edge: a ``traceparent`` sent by a browser would let anyone pick
our trace ids and force sampling, so inbound trace headers are dropped and every request
starts a trace of its own.

Credentials in a URL path (export links, ``/api/v1/exports/exl_...``) never reach a span:
the tracing middleware sees the path masked (``runtime.logging.mask_url_secrets``), and
the app the real one.

When this process records no span at all (the SDK's provider with sampling off: no OTLP
endpoint and no sampler chosen, ``runtime.telemetry.sampler_for``), the instrumentation's
middleware would still collect every request's attributes and time it, about a fifth of
a cached dashboard read's CPU, for spans that are dropped. Then each request gets only a
new trace context (a non-recording server span): its logs still carry a ``trace_id``
and its gRPC calls still pass it on to auth and analytics.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from quart import Quart, Response, request

from analyticbot.runtime.logging import mask_url_secrets
from gateway.metrics import route_template

_UNTRUSTED = frozenset({b"traceparent", b"tracestate", b"baggage"})
# Probes and scrapes every few seconds: not worth a trace each.
EXCLUDED_URLS = "/healthz,/readyz,/metrics"
_EXCLUDED_PATHS = frozenset(EXCLUDED_URLS.split(","))
_REAL_PATH = "analyticbot.real_path"

ASGIApp = Any


def _drop_trace_headers(app: ASGIApp) -> ASGIApp:
    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = [(k, v) for k, v in scope["headers"] if k.lower() not in _UNTRUSTED]
            scope = {**scope, "headers": headers}
        await app(scope, receive, send)

    return asgi


def _mask_path(app: ASGIApp) -> ASGIApp:
    """Outside the tracing middleware: hand it the path with URL credentials masked."""

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        masked = mask_url_secrets(path)
        if scope["type"] in ("http", "websocket") and masked != path:
            real = (path, scope.get("raw_path"))
            scope = {**scope, "path": masked, "raw_path": masked.encode(), _REAL_PATH: real}
        await app(scope, receive, send)

    return asgi


def _restore_path(app: ASGIApp) -> ASGIApp:
    """Inside the tracing middleware: give the app back the real path."""

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if _REAL_PATH in scope:
            path, raw_path = scope[_REAL_PATH]
            scope = {k: v for k, v in scope.items() if k != _REAL_PATH}
            scope.update(path=path, raw_path=raw_path)
        await app(scope, receive, send)

    return asgi


async def _name_span(response: Response) -> Response:
    """Name the span ``GET /api/v1/channels/<channel_id>/overview``, never the raw path
    (one span name per route keeps tracing backends' indexes small)."""
    span = trace.get_current_span()
    if span.is_recording():
        route = route_template()
        span.update_name(f"{request.method} {route}")
        span.set_attribute("http.route", route)
    return response


def records_spans(provider: trace.TracerProvider) -> bool:
    """False only for the SDK's provider with sampling off, which drops every span."""
    return not (isinstance(provider, TracerProvider) and provider.sampler is ALWAYS_OFF)


def _trace_context(app: ASGIApp, provider: trace.TracerProvider) -> ASGIApp:
    """A new trace per request, with nothing recorded: a non-recording server span,
    current while the app runs (so logs and outgoing gRPC calls carry its ids)."""
    tracer = provider.get_tracer(__name__)

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in _EXCLUDED_PATHS:
            await app(scope, receive, send)
            return
        # An empty context: a trace of its own, whatever the caller sent (see above).
        with tracer.start_as_current_span("request", context=Context(), kind=trace.SpanKind.SERVER):
            await app(scope, receive, send)

    return asgi


def install_tracing(app: Quart, provider: trace.TracerProvider | None = None) -> None:
    """Trace every request of ``app`` with ``provider`` (by default the global one): a
    recorded server span per request, or only a trace context when nothing is recorded."""
    provider = provider or trace.get_tracer_provider()
    if not records_spans(provider):
        app.asgi_app = _trace_context(app.asgi_app, provider)  # type: ignore[method-assign]
        return
    traced = OpenTelemetryMiddleware(
        _restore_path(app.asgi_app),
        excluded_urls=EXCLUDED_URLS,
        exclude_spans=["receive", "send"],
        tracer_provider=provider,
    )
    app.asgi_app = _drop_trace_headers(_mask_path(traced))  # type: ignore[method-assign]
    app.after_request(_name_span)
