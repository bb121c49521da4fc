"""The shared gRPC server: health, reflection, error mapping and deadlines."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from analyticbot.auth.v1 import auth_pb2, auth_pb2_grpc
from analyticbot.runtime.errors import NotFound
from analyticbot.runtime.grpc_server import GrpcServer, build_server

SERVICE = "analyticbot.auth.v1.AuthService"


async def get_jwks(request: Any, context: Any) -> auth_pb2.GetJwksResponse:
    raise NotFound("channel 42 not found")


async def exchange(request: Any, context: Any) -> auth_pb2.ExchangeInitDataResponse:
    if request.init_data == "slow":
        await asyncio.sleep(5)
    raise RuntimeError("db password is hunter2")


def register(server: grpc.aio.Server) -> None:
    """Two methods of AuthService whose bodies fail the ways the interceptor translates."""
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {
        "GetJwks": grpc.unary_unary_rpc_method_handler(
            get_jwks,
            request_deserializer=auth_pb2.GetJwksRequest.FromString,
            response_serializer=auth_pb2.GetJwksResponse.SerializeToString,
        ),
        "ExchangeInitData": grpc.unary_unary_rpc_method_handler(
            exchange,
            request_deserializer=auth_pb2.ExchangeInitDataRequest.FromString,
            response_serializer=auth_pb2.ExchangeInitDataResponse.SerializeToString,
        ),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))


@pytest.fixture
async def server() -> AsyncIterator[GrpcServer]:
    built = build_server([(register, SERVICE)], host="127.0.0.1")
    await built.start()
    yield built
    await built.stop(0)


async def test_health_is_serving_for_the_server_and_each_service(server: GrpcServer) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for name in ("", SERVICE):
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=name))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_reflection_lists_the_services(server: GrpcServer) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        async for reply in stub.ServerReflectionInfo(iter([request])):
            names = {s.name for s in reply.list_services_response.service}
            assert {SERVICE, "grpc.health.v1.Health"} <= names
            break


async def test_domain_errors_become_statuses_and_internals_stay_hidden(
    server: GrpcServer,
) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = auth_pb2_grpc.AuthServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetJwks(auth_pb2.GetJwksRequest(), timeout=5)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        assert caught.value.details() == "channel 42 not found"
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ExchangeInitData(auth_pb2.ExchangeInitDataRequest(), timeout=5)
        assert caught.value.code() == grpc.StatusCode.INTERNAL
        assert "hunter2" not in (caught.value.details() or "")


async def test_the_callers_deadline_is_honoured(server: GrpcServer) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = auth_pb2_grpc.AuthServiceStub(channel)
        started = asyncio.get_running_loop().time()
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ExchangeInitData(
                auth_pb2.ExchangeInitDataRequest(init_data="slow"), timeout=0.3
            )
        assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert asyncio.get_running_loop().time() - started < 3


async def test_stopping_reports_not_serving_first(server: GrpcServer) -> None:
    await server.health.enter_graceful_shutdown()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=SERVICE)
        )
        assert reply.status == health_pb2.HealthCheckResponse.NOT_SERVING
