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
from analyticbot.runtime.metrics import GRPC_HANDLED, GRPC_LATENCY
from analyticbot.runtime.telemetry import server_interceptor

log = logging.getLogger(__name__)

if TYPE_CHECKING:
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


class ErrorInterceptor(grpc.aio.ServerInterceptor):
    """Deadlines, error translation and metrics for every unary and server-stream RPC."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        service, method = _split_method(handler_call_details.method)
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


async def _fail(context: Context, exc: BaseException, method: str) -> None:
    code, message = _status_for(exc)
    if code == grpc.StatusCode.INTERNAL:
        log.exception("unhandled error in %s", method, exc_info=exc)
    elif code == grpc.StatusCode.UNAVAILABLE:
        log.warning("%s unavailable: %s", method, type(exc).__name__)
    await context.abort(code, message)


def _wrap_unary(behaviour: Unary, service: str, method: str) -> Unary:
    async def wrapped(request: Any, context: Context) -> Any:
        started = time.perf_counter()
        code = grpc.StatusCode.OK
        try:
            async with asyncio.timeout(context.time_remaining()):
                return await behaviour(request, context)
        except asyncio.CancelledError:
            code = grpc.StatusCode.CANCELLED
            raise
        except Exception as exc:  # noqa: BLE001 - the one place errors become statuses
            code = _status_for(exc)[0]
            await _fail(context, exc, method)
        finally:
            GRPC_HANDLED.labels(service, method, code.name).inc()
            GRPC_LATENCY.labels(service, method).observe(time.perf_counter() - started)

    return wrapped


def _wrap_stream(behaviour: Stream, service: str, method: str) -> Stream:
    async def wrapped(request: Any, context: Context) -> AsyncIterator[Any]:
        started = time.perf_counter()
        code = grpc.StatusCode.OK
        try:
            async for item in behaviour(request, context):
                yield item
        except asyncio.CancelledError:
            code = grpc.StatusCode.CANCELLED
            raise
        except Exception as exc:  # noqa: BLE001 - the one place errors become statuses
            code = _status_for(exc)[0]
            await _fail(context, exc, method)
        finally:
            GRPC_HANDLED.labels(service, method, code.name).inc()
            GRPC_LATENCY.labels(service, method).observe(time.perf_counter() - started)

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
    # Tracing first, so the server span covers error translation and records the status
    # the ErrorInterceptor aborts with.
    server = grpc.aio.server(
        interceptors=[server_interceptor(), ErrorInterceptor(), *interceptors],
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
    """Start ``server`` and serve until SIGTERM or SIGINT, then stop gracefully."""
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
