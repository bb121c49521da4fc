"""The server span of ``analyticbot.runtime.grpc_server``'s interceptor: it continues the
caller's ``traceparent``, carries the rpc.* attributes and the status code, marks only
the server's own failures as errors, and each method's handler is wrapped once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from analyticbot.auth.v1 import auth_pb2, auth_pb2_grpc
from analyticbot.runtime.errors import NotFound
from analyticbot.runtime.grpc_server import GrpcServer, RpcInterceptor, build_server

SERVICE = "analyticbot.auth.v1.AuthService"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


async def get_jwks(request: Any, context: Any) -> auth_pb2.GetJwksResponse:
    return auth_pb2.GetJwksResponse(jwks_json="{}")


async def check_access(request: Any, context: Any) -> auth_pb2.CheckAccessResponse:
    raise NotFound("channel not found")


async def exchange(request: Any, context: Any) -> auth_pb2.ExchangeInitDataResponse:
    raise RuntimeError("boom")


def register(server: grpc.aio.Server) -> None:
    def unary(behaviour: Any, request: Any, response: Any) -> Any:
        return grpc.unary_unary_rpc_method_handler(
            behaviour,
            request_deserializer=request.FromString,
            response_serializer=response.SerializeToString,
        )

    handlers = {
        "GetJwks": unary(get_jwks, auth_pb2.GetJwksRequest, auth_pb2.GetJwksResponse),
        "CheckAccess": unary(
            check_access, auth_pb2.CheckAccessRequest, auth_pb2.CheckAccessResponse
        ),
        "ExchangeInitData": unary(
            exchange, auth_pb2.ExchangeInitDataRequest, auth_pb2.ExchangeInitDataResponse
        ),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))


@pytest.fixture
async def server() -> AsyncIterator[GrpcServer]:
    built = build_server([(register, SERVICE)], host="127.0.0.1")
    await built.start()
    yield built
    await built.stop(0)


async def _server_span(spans: InMemorySpanExporter, method: str) -> ReadableSpan:
    """The method's one server span. A failed call's span ends when the interceptor's
    ``with`` block exits, after the status went out, so the caller may be answered a
    moment before the span is exported: wait for it (2 s at most)."""
    for _ in range(100):
        found = [
            s
            for s in spans.get_finished_spans()
            if s.kind == SpanKind.SERVER and s.name == f"/{SERVICE}/{method}"
        ]
        if found:
            break
        await asyncio.sleep(0.02)
    assert len(found) == 1, [s.name for s in spans.get_finished_spans()]
    return found[0]


async def test_a_server_span_continues_the_callers_trace(
    server: GrpcServer, spans: InMemorySpanExporter
) -> None:
    metadata = (("traceparent", f"00-{TRACE_ID}-{PARENT_ID}-01"),)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = auth_pb2_grpc.AuthServiceStub(channel)
        await stub.GetJwks(auth_pb2.GetJwksRequest(), metadata=metadata, timeout=5)
    span = await _server_span(spans, "GetJwks")
    assert span.context is not None
    assert span.parent is not None
    assert span.context.trace_id == int(TRACE_ID, 16)
    assert span.parent.span_id == int(PARENT_ID, 16)
    assert span.parent.is_remote
    attributes = dict(span.attributes or {})
    assert isinstance(attributes.pop("net.peer.port"), int)
    assert attributes == {
        "rpc.system": "grpc",
        "rpc.service": SERVICE,
        "rpc.method": "GetJwks",
        "net.peer.ip": "127.0.0.1",
        "rpc.grpc.status_code": 0,
    }
    assert span.status.status_code == StatusCode.UNSET


async def test_without_traceparent_a_span_starts_its_own_trace(
    server: GrpcServer, spans: InMemorySpanExporter
) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = auth_pb2_grpc.AuthServiceStub(channel)
        await stub.GetJwks(auth_pb2.GetJwksRequest(), timeout=5)
    span = await _server_span(spans, "GetJwks")
    assert span.parent is None
    assert span.context is not None
    assert span.context.trace_id != 0


async def test_only_the_servers_own_failures_are_span_errors(
    server: GrpcServer, spans: InMemorySpanExporter
) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = auth_pb2_grpc.AuthServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.CheckAccess(auth_pb2.CheckAccessRequest(), timeout=5)
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.ExchangeInitData(auth_pb2.ExchangeInitDataRequest(), timeout=5)
    not_found = await _server_span(spans, "CheckAccess")
    code = (not_found.attributes or {})["rpc.grpc.status_code"]
    assert code == grpc.StatusCode.NOT_FOUND.value[0]
    assert not_found.status.status_code == StatusCode.UNSET
    internal = await _server_span(spans, "ExchangeInitData")
    assert (internal.attributes or {})["rpc.grpc.status_code"] == grpc.StatusCode.INTERNAL.value[0]
    assert internal.status.status_code == StatusCode.ERROR
    assert "boom" not in (internal.status.description or "")


class _Details(grpc.HandlerCallDetails):
    def __init__(self, method: str) -> None:
        self.method = method
        self.invocation_metadata = ()


async def test_each_methods_handler_is_wrapped_once() -> None:
    original: grpc.RpcMethodHandler[Any, Any] = grpc.unary_unary_rpc_method_handler(get_jwks)
    interceptor = RpcInterceptor()
    details = _Details(f"/{SERVICE}/GetJwks")

    async def continuation(_: Any) -> Any:
        return original

    first = await interceptor.intercept_service(continuation, details)
    second = await interceptor.intercept_service(continuation, details)
    assert first is second is not original
