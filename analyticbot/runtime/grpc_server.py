"""The one way every service builds and runs its ``grpc.aio`` server.

A server built here always serves ``grpc.health.v1`` and reflection, translates domain
errors to status codes in one interceptor, cuts handlers off at the caller's deadline,
counts every RPC in Prometheus, continues the caller's trace (W3C ``traceparent`` in the
metadata), and on SIGTERM reports NOT_SERVING before draining.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import asyncpg
import grpc
import redis.exceptions
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from analyticbot.runtime.errors import DomainError
from analyticbot.runtime.gc_tuning import tune_gc
from analyticbot.runtime.metrics import GRPC_HANDLED, GRPC_LATENCY
from analyticbot.runtime.telemetry import end_server_span, server_span

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]
    Handler: TypeAlias = grpc.RpcMethodHandler[Any, Any]
    Unary: TypeAlias = Callable[[Any, Context], Awaitable[Any]]
    Stream: TypeAlias = Callable[[Any, Context], AsyncIterator[Any]]

# Failures of a backing store: the caller may retry later.
_UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.ClientCannotConnectError,
    asyncpg.exceptions.ConnectionRejectionError,
    # A server going down (pg_ctl stop -m fast, failover) ends running statements so.
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    # Releasing a connection the server dropped mid-statement ("cannot switch to state
    # 15; another operation is in progress"): the driver's view of a broken connection.
    asyncpg.exceptions.InternalClientError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def _status_for(exc: BaseException) -> tuple[grpc.StatusCode, str]:
    if isinstance(exc, DomainError):
        return exc.status, str(exc)
    if isinstance(exc, TimeoutError):
        return grpc.StatusCode.DEADLINE_EXCEEDED, "deadline exceeded"
    if isinstance(exc, _UNAVAILABLE_ERRORS):
        return grpc.StatusCode.UNAVAILABLE, "a backing store is unavailable, retry later"
    return grpc.StatusCode.INTERNAL, "internal error"


def _split_method(full: str) -> tuple[str, str]:
    _, service, method = full.split("/", 2)
    return service, method


class RpcInterceptor(grpc.aio.ServerInterceptor):
    """The server span, deadline, error translation and metrics of every unary and
    server-stream RPC, in one interceptor.

    Each method's handler is wrapped once and reused: grpc asks the interceptors for a
    handler on every call, and building a new one per call (as the tracing
    instrumentation's interceptor did) was part of the per-call cost of a cached read.
    gRPC's own services (health, reflection) are left alone: probes call them every few
    seconds."""

    def __init__(self) -> None:
        # method -> (the handler grpc gave, its wrapped twin)
        self._wrapped: dict[str, tuple[Handler, Handler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        full = handler_call_details.method
        known = self._wrapped.get(full)
        if known is not None and known[0] is handler:
            return known[1]
        wrapped = _wrap(handler, full)
        self._wrapped[full] = (handler, wrapped)
        return wrapped


def _wrap(handler: Handler, full: str) -> Handler:
    service, method = _split_method(full)
    if service.startswith("grpc."):
        return handler
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(
            _wrap_unary(cast("Unary", handler.unary_unary), service, method),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(
            _wrap_stream(cast("Stream", handler.unary_stream), service, method),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
    return handler


async def _fail(
    context: Context,
    exc: BaseException,
    code: grpc.StatusCode,
    message: str,
    method: str,
    span: Span,
) -> None:
    end_server_span(span, code, message)
    if code == grpc.StatusCode.INTERNAL:
        log.exception("unhandled error in %s", method, exc_info=exc)
    elif code == grpc.StatusCode.UNAVAILABLE:
        log.warning("%s unavailable: %s", method, type(exc).__name__)
    await context.abort(code, message)


class _Meters:
    """The Prometheus children of one method, looked up once instead of per call."""

    __slots__ = ("handled", "labels", "latency")

    def __init__(self, service: str, method: str) -> None:
        self.labels = (service, method)
        self.latency = GRPC_LATENCY.labels(service, method)
        self.handled: dict[grpc.StatusCode, Any] = {}

    def observe(self, code: grpc.StatusCode, started: float) -> None:
        counter = self.handled.get(code)
        if counter is None:
            counter = self.handled[code] = GRPC_HANDLED.labels(*self.labels, code.name)
        counter.inc()
        self.latency.observe(time.perf_counter() - started)


def _wrap_unary(behaviour: Unary, service: str, method: str) -> Unary:
    meters = _Meters(service, method)
    name = f"/{service}/{method}"

    async def wrapped(request: Any, context: Context) -> Any:
        started = time.perf_counter()
        code = grpc.StatusCode.OK
        with server_span(name, service, method, context) as span:
            try:
                async with asyncio.timeout(context.time_remaining()):
                    response = await behaviour(request, context)
                end_server_span(span, code)
                return response
            except asyncio.CancelledError:
                code = grpc.StatusCode.CANCELLED
                end_server_span(span, code)
                raise
            except Exception as exc:  # noqa: BLE001 - the one place errors become statuses
                code, message = _status_for(exc)
                await _fail(context, exc, code, message, method, span)
            finally:
                meters.observe(code, started)

    return wrapped


def _wrap_stream(behaviour: Stream, service: str, method: str) -> Stream:
    meters = _Meters(service, method)
    name = f"/{service}/{method}"

    async def wrapped(request: Any, context: Context) -> AsyncIterator[Any]:
        started = time.perf_counter()
        code = grpc.StatusCode.OK
        with server_span(name, service, method, context) as span:
            try:
                async for item in behaviour(request, context):
                    yield item
                end_server_span(span, code)
            except asyncio.CancelledError:
                code = grpc.StatusCode.CANCELLED
                end_server_span(span, code)
                raise
            except Exception as exc:  # noqa: BLE001 - the one place errors become statuses
                code, message = _status_for(exc)
                await _fail(context, exc, code, message, method, span)
            finally:
                meters.observe(code, started)

    return wrapped


@dataclass
class GrpcServer:
    """A built server, the port it is bound to, and its health servicer."""

    server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer
    service_names: tuple[str, ...]

    async def start(self) -> None:
        await self.server.start()
        for name in (*self.service_names, ""):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    async def stop(self, grace: float) -> None:
        """NOT_SERVING first (load balancers stop sending), then drain for ``grace`` s."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)


Registrar = Callable[[grpc.aio.Server], None]

# Accept the clients' keepalive pings (every 30 s, ``telemetry.KEEPALIVE_TIME_MS``) even
# on a connection with no call in flight; the default minimum is 5 minutes, below which a
# server answers pings with GOAWAY ``too_many_pings``.
SERVER_OPTIONS = (
    ("grpc.http2.min_ping_interval_without_data_ms", 20_000),
    ("grpc.keepalive_permit_without_calls", 1),
)


def build_server(
    registrars: Sequence[tuple[Registrar, str]],
    *,
    port: int = 0,
    host: str = "[::]",
    interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
) -> GrpcServer:
    """Build a server with the given servicers, health and reflection.

    ``registrars`` pairs each ``add_XServicer_to_server`` partial with the service's full
    name (``analyticbot.collector.v1.CollectorService``). Returns the bound port, so
    tests pass ``port=0``.
    """
    # Ours first: the server span covers any interceptor the caller adds.
    server = grpc.aio.server(
        interceptors=[RpcInterceptor(), *interceptors],
        options=SERVER_OPTIONS,
    )
    names = tuple(name for _, name in registrars)
    for register, _ in registrars:
        register(server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*names, health.SERVICE_NAME, reflection.SERVICE_NAME),
        server,
    )
    bound = server.add_insecure_port(f"{host}:{port}")
    return GrpcServer(server=server, port=bound, health=health_servicer, service_names=names)


async def run_until_signal(
    server: GrpcServer, *, grace: float = 10.0, on_stop: Callable[[], Awaitable[None]] | None = None
) -> None:
    """Start ``server`` and serve until SIGTERM or SIGINT, then stop gracefully. The
    process's garbage collector is tuned first (``gc_tuning``): this runs only in a
    service's own process."""
    tune_gc()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    log.info("serving gRPC on port %d", server.port)
    await stop.wait()
    log.info("stopping: NOT_SERVING, draining for up to %.1fs", grace)
    await server.stop(grace)
    if on_stop is not None:
        await on_stop()
    log.info("stopped")
