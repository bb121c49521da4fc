"""OpenTelemetry traces: one tracer provider per process, W3C ``traceparent`` across gRPC,
and a span for every asyncpg query.

``configure_tracing`` is the one call each deployable's ``main`` makes. It always
installs an SDK tracer provider, so every request gets a real trace id that the JSON logs
carry (``analyticbot.runtime.logging``) and that the services pass on to each other;
spans leave the process only when an OTLP endpoint is configured
(``ANALYTICBOT_OTLP_ENDPOINT``, or the standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` /
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``). Without one, spans are not recorded at all
(they would go nowhere, and recording them cost the gateway and auth about a tenth of
their CPU per request): trace ids are still made, logged and passed on.
``OTEL_SDK_DISABLED=true`` turns tracing off altogether; the standard
``OTEL_TRACES_SAMPLER`` variables choose the sampler, and setting them records spans
even without an endpoint.

On the gRPC side, ``opentelemetry-instrumentation-grpc``'s ``grpc.aio`` client
interceptors inject the current context as ``traceparent``; servers continue it in
``server_span``, which the one interceptor of ``analyticbot.runtime.grpc_server`` opens
(the instrumentation's server interceptor cost too much per call: docs/decisions.md).
Both skip ``grpc.*`` services (health checks, reflection), which probes call every few
seconds and which would bury the traces that matter.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from typing import Any

import grpc
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.grpc import aio_client_interceptors
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_NAMESPACE, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, Sampler
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

log = logging.getLogger(__name__)

NAMESPACE = "analyticbot"
_ENDPOINT_VARIABLES = (
    "ANALYTICBOT_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
)


def otlp_endpoint(configured: str | None = None) -> str | None:
    """The OTLP/gRPC endpoint spans go to: ``configured`` (the settings value) if given,
    else the first of the variables above that is set; None means no export."""
    if configured:
        return configured
    for variable in _ENDPOINT_VARIABLES:
        if value := os.environ.get(variable, "").strip():
            return value
    return None


def _disabled() -> bool:
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


def configure_tracing(service: str, endpoint: str | None = None) -> TracerProvider | None:
    """Install this process's tracer provider (tagged ``service.name=service``) and trace
    asyncpg. Exports over OTLP/gRPC when an endpoint is configured. Returns the provider,
    or None when ``OTEL_SDK_DISABLED=true``.

    Call once, at the top of ``main``; the provider flushes its spans at exit.
    """
    if _disabled():
        log.info("tracing disabled (OTEL_SDK_DISABLED)")
        return None
    target = otlp_endpoint(endpoint)
    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: service, SERVICE_NAMESPACE: NAMESPACE}),
        sampler=sampler_for(target),
    )
    if target is not None:
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=target)))
        log.info("exporting traces over OTLP to %s", target)
    trace.set_tracer_provider(provider)
    instrument_asyncpg(provider)
    return provider


def sampler_for(target: str | None) -> Sampler | None:
    """``ALWAYS_OFF`` when spans would go nowhere (no endpoint, no sampler chosen in the
    environment), else None: the SDK's choice (``OTEL_TRACES_SAMPLER``, by default
    parent-based always-on)."""
    if target is None and not os.environ.get("OTEL_TRACES_SAMPLER", "").strip():
        return ALWAYS_OFF
    return None


def instrument_asyncpg(provider: trace.TracerProvider) -> None:
    """A client span per query on every asyncpg connection of this process (statement
    text, never its parameters)."""
    instrumentor = AsyncPGInstrumentor(capture_parameters=False)  # type: ignore[no-untyped-call]
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=provider)


def uninstrument_asyncpg() -> None:
    """Undo ``instrument_asyncpg`` (tests that install their own provider)."""
    instrumentor = AsyncPGInstrumentor()  # type: ignore[no-untyped-call]
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()


def _not_grpc_internal(details: Any) -> bool:
    """False for gRPC's own services (health, reflection: ``/grpc.*``), which get no span.

    What ``negate(service_prefix("grpc."))`` of the instrumentation decides, by a string
    prefix: its filter tests the call details with isinstance against grpc's abstract
    classes and splits the name with ``os.path``: a tenth of the analytics server's time
    per shared answer under cProfile, 2-4 % more answers a second without it (measured,
    docs/benchmarks.md)."""
    method = getattr(details, "method", None)
    if method is None:
        method = getattr(details, "full_method", "")
    if isinstance(method, bytes):
        method = method.decode()
    return not str(method).startswith("/grpc.")


# The server span's tracer: a proxy until a provider is installed, then that provider's.
_SERVER_TRACER = trace.get_tracer("analyticbot.runtime.grpc_server")
# Metadata keys the W3C propagators read (trace context and baggage).
_PROPAGATED = frozenset({"traceparent", "tracestate", "baggage"})
# Status codes that mark a server span as failed (the server's fault, or no answer):
# the caller's own mistakes (INVALID_ARGUMENT, NOT_FOUND...) are not the server's errors.
_SERVER_ERRORS = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)


def server_span(
    name: str, service: str, method: str, context: grpc.aio.ServicerContext[Any, Any]
) -> contextlib.AbstractContextManager[Span]:
    """The current span of one RPC on a server: a SERVER span named ``/service/method``,
    continuing the caller's trace from its ``traceparent`` metadata (a new trace
    without one), with the ``rpc.*`` attributes of OpenTelemetry's semantic conventions.

    ``analyticbot.runtime.grpc_server`` opens it inside its one interceptor, replacing
    ``opentelemetry-instrumentation-grpc``'s server interceptor, which wrapped the
    method's handler and the servicer context anew on every call and parsed the peer
    address before sampling (docs/decisions.md). The peer is parsed here only for a
    span that records."""
    carrier = {}
    for key, value in context.invocation_metadata() or ():
        if key in _PROPAGATED:
            carrier[key] = value
    parent = propagate.extract(carrier) if carrier else Context()
    span = _SERVER_TRACER.start_span(
        name,
        context=parent,
        kind=SpanKind.SERVER,
        attributes={"rpc.system": "grpc", "rpc.service": service, "rpc.method": method},
    )
    if span.is_recording():
        _peer_attributes(span, context.peer())
    return trace.use_span(
        span, end_on_exit=True, record_exception=False, set_status_on_exception=False
    )


def _peer_attributes(span: Span, peer: str | None) -> None:
    """``net.peer.ip``/``net.peer.port`` from grpc's ``ipv4:1.2.3.4:5``/``ipv6:[::1]:5``."""
    kind, _, address = (peer or "").partition(":")
    if kind not in ("ipv4", "ipv6"):
        return
    host, _, port = address.rpartition(":")
    span.set_attribute("net.peer.ip", host.strip("[]"))
    if port.isdigit():
        span.set_attribute("net.peer.port", int(port))


def end_server_span(span: Span, code: grpc.StatusCode, message: str = "") -> None:
    """Record the RPC's status on its server span."""
    if not span.is_recording():
        return
    span.set_attribute("rpc.grpc.status_code", code.value[0])
    if code in _SERVER_ERRORS:
        span.set_status(Status(StatusCode.ERROR, f"{code.name}: {message}"))


def client_interceptors() -> list[grpc.aio.ClientInterceptor]:
    """A client span per RPC that sends the current context as ``traceparent``."""
    interceptors: list[Any] = aio_client_interceptors(  # type: ignore[no-untyped-call]
        filter_=_not_grpc_internal
    )
    return interceptors


# Reads that may run twice with no effect, by service. Only these are retried: a write
# (TrackChannel, CreateAlertRule, ExchangeInitData, RefreshTokens...) that timed out may
# have happened, and the caller decides. Streams are never retried.
IDEMPOTENT_READS: dict[str, tuple[str, ...]] = {
    "analyticbot.analytics.v1.AnalyticsService": (
        "GetChannelOverview",
        "ComparePeriods",
        "ListPosts",
        "GetPost",
        "GetBestTime",
        "GetSubscriberSeries",
        "ListNativeStats",
        "ListAlertRules",
        "ListAlerts",
    ),
    "analyticbot.auth.v1.AuthService": ("GetJwks", "CheckAccess", "ListMyChannels"),
    "analyticbot.collector.v1.CollectorService": ("GetCollectionStatus", "ListTrackedChannels"),
}


def service_config() -> dict[str, Any]:
    """The gRPC service config of every internal channel.

    An idempotent read that fails with UNAVAILABLE (peer restarting, connection refused)
    is tried up to 3 times, after a random pause of up to 0.1 s, then up to 0.2 s (gRPC
    draws each backoff uniformly below the current bound, so the retries of many clients
    spread out). The caller's deadline covers all attempts. Retry throttling stops retries
    on a channel once failures outnumber successes (tokens below 5 of 10, each failure
    -1, each success +0.1), so a peer that is down gets one attempt per call, not three.
    """
    return {
        "methodConfig": [
            {
                "name": [
                    {"service": service, "method": method}
                    for service, methods in IDEMPOTENT_READS.items()
                    for method in methods
                ],
                "retryPolicy": {
                    "maxAttempts": 3,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "1s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ],
        "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1},
    }


# Keepalive pings every 30 s (10 s to answer) find a dead peer on an idle connection, and
# long-lived streams (WatchChannel) notice it; servers accept pings this often
# (``grpc_server.SERVER_OPTIONS``).
KEEPALIVE_TIME_MS = 30_000
KEEPALIVE_TIMEOUT_MS = 10_000


def channel_options() -> list[tuple[str, Any]]:
    """The options of every internal channel: service config, retries, keepalive."""
    return [
        ("grpc.service_config", json.dumps(service_config())),
        ("grpc.enable_retries", 1),
        ("grpc.keepalive_time_ms", KEEPALIVE_TIME_MS),
        ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
        ("grpc.http2.max_pings_without_data", 0),
        # Reconnect to a restarted peer within about a second, not after gRPC's default
        # backoff of up to 120 s.
        ("grpc.initial_reconnect_backoff_ms", 200),
        ("grpc.min_reconnect_backoff_ms", 200),
        ("grpc.max_reconnect_backoff_ms", 1_000),
    ]


def insecure_channel(target: str) -> grpc.aio.Channel:
    """A ``grpc.aio`` channel to a peer inside the cluster that propagates traces and
    retries idempotent reads (``service_config``). Every call still sets its deadline."""
    return grpc.aio.insecure_channel(
        target, options=channel_options(), interceptors=client_interceptors()
    )
