"""The dependency watcher: a store that stops answering takes the service names (not "")
to NOT_SERVING over real gRPC health checks, and its return brings them back; the real
probes against real and unreachable stores; the retry policy of internal channels."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from analyticbot.auth.v1 import auth_pb2
from analyticbot.runtime.cache import create_redis
from analyticbot.runtime.dependencies import DependencyWatcher, postgres_probe, redis_probe
from analyticbot.runtime.grpc_server import GrpcServer, build_server
from analyticbot.runtime.telemetry import insecure_channel

SERVICE = "analyticbot.auth.v1.AuthService"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def _no_methods(server: grpc.aio.Server) -> None:
    """A service name with no methods: only its health status matters here."""


@pytest.fixture
async def server() -> AsyncIterator[GrpcServer]:
    built = build_server([(_no_methods, SERVICE)], host="127.0.0.1")
    await built.start()
    yield built
    await built.stop(0)


async def _status(port: int, service: str) -> int:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=2
        )
        return int(reply.status)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_store_down_takes_only_the_service_names_out_and_back(
    server: GrpcServer,
) -> None:
    up = {"postgresql": True}

    async def probe() -> object:
        if not up["postgresql"]:
            raise OSError("connection refused")
        return 1

    watcher = DependencyWatcher(server, {"postgresql": probe})
    assert await watcher.check() == frozenset()
    assert await _status(server.port, SERVICE) == SERVING

    up["postgresql"] = False
    assert await watcher.check() == {"postgresql"}
    assert await _status(server.port, SERVICE) == NOT_SERVING
    assert await _status(server.port, "") == SERVING  # liveness never follows a store

    up["postgresql"] = True
    await watcher.check()
    assert await _status(server.port, SERVICE) == SERVING


async def test_a_probe_that_hangs_counts_as_down_within_its_budget(server: GrpcServer) -> None:
    async def hang() -> object:
        await asyncio.sleep(30)
        return None

    watcher = DependencyWatcher(server, {"redis": hang}, timeout=0.2)
    started = time.perf_counter()
    assert await watcher.check() == {"redis"}
    assert time.perf_counter() - started < 1.0


async def test_after_sigterm_the_watcher_cannot_bring_a_draining_server_back(
    server: GrpcServer,
) -> None:
    async def ok() -> object:
        return 1

    await server.health.enter_graceful_shutdown()
    await DependencyWatcher(server, {"postgresql": ok}).check()
    assert await _status(server.port, SERVICE) == NOT_SERVING


async def test_real_probes_answer_for_live_stores_and_fail_fast_for_dead_ones(
    pool: asyncpg.Pool, redis_url: str
) -> None:
    live = create_redis(redis_url)
    dead = create_redis(f"redis://127.0.0.1:{_closed_port()}/0")
    try:
        assert await postgres_probe(pool)() == 1
        assert await redis_probe(live)() is True
        started = time.perf_counter()
        with pytest.raises(Exception, match=r"(?i)connect|refused"):
            await redis_probe(dead)()
        assert time.perf_counter() - started < 2.5
    finally:
        await live.aclose()
        await dead.aclose()


async def test_idempotent_reads_are_retried_and_writes_are_not() -> None:
    """A peer that fails the first attempt with UNAVAILABLE: a read succeeds on a retry,
    a write is reported to the caller after one attempt."""
    attempts: dict[str, int] = {"GetJwks": 0, "ExchangeInitData": 0}

    def flaky(method: str, answer: Any) -> Callable[[Any, Any], Awaitable[Any]]:
        async def handle(request: Any, context: Any) -> Any:
            attempts[method] += 1
            if attempts[method] == 1:
                await context.abort(grpc.StatusCode.UNAVAILABLE, "restarting")
            return answer

        return handle

    def register(server: grpc.aio.Server) -> None:
        handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {
            "GetJwks": grpc.unary_unary_rpc_method_handler(
                flaky("GetJwks", auth_pb2.GetJwksResponse(jwks_json="{}")),
                request_deserializer=auth_pb2.GetJwksRequest.FromString,
                response_serializer=auth_pb2.GetJwksResponse.SerializeToString,
            ),
            "ExchangeInitData": grpc.unary_unary_rpc_method_handler(
                flaky("ExchangeInitData", auth_pb2.ExchangeInitDataResponse()),
                request_deserializer=auth_pb2.ExchangeInitDataRequest.FromString,
                response_serializer=auth_pb2.ExchangeInitDataResponse.SerializeToString,
            ),
        }
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))

    built = build_server([(register, SERVICE)], host="127.0.0.1")
    await built.start()
    channel = insecure_channel(f"127.0.0.1:{built.port}")
    try:
        jwks = channel.unary_unary(
            f"/{SERVICE}/GetJwks",
            request_serializer=auth_pb2.GetJwksRequest.SerializeToString,
            response_deserializer=auth_pb2.GetJwksResponse.FromString,
        )
        exchange = channel.unary_unary(
            f"/{SERVICE}/ExchangeInitData",
            request_serializer=auth_pb2.ExchangeInitDataRequest.SerializeToString,
            response_deserializer=auth_pb2.ExchangeInitDataResponse.FromString,
        )
        reply = await jwks(auth_pb2.GetJwksRequest(), timeout=5)
        assert reply.jwks_json == "{}"
        assert attempts["GetJwks"] == 2
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await exchange(auth_pb2.ExchangeInitDataRequest(init_data="x"), timeout=5)
        assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
        assert attempts["ExchangeInitData"] == 1
    finally:
        await channel.close()
        await built.stop(0)
