"""With an endpoint configured, a process's spans reach an OTLP/gRPC receiver, tagged
with the service's name. The process is a subprocess: a tracer provider is installed
once per process."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from tests.support import ROOT

PROGRAM = """
from opentelemetry import trace
from analyticbot.runtime.telemetry import configure_tracing
provider = configure_tracing("analytics")
with trace.get_tracer("t").start_as_current_span("exported-span"):
    pass
provider.shutdown()
"""


class Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.requests: list[trace_service_pb2.ExportTraceServiceRequest] = []

    async def Export(self, request: Any, context: Any) -> Any:
        self.requests.append(request)
        return trace_service_pb2.ExportTraceServiceResponse()


async def test_spans_are_exported_to_the_configured_endpoint() -> None:
    receiver = Receiver()
    server = grpc.aio.server()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(receiver, server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        env = {**os.environ, "ANALYTICBOT_OTLP_ENDPOINT": f"http://127.0.0.1:{port}"}
        env.pop("OTEL_SDK_DISABLED", None)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", PROGRAM, cwd=ROOT, env=env
        )
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        await server.stop(0)
    spans = [
        (resource.resource, span.name)
        for request in receiver.requests
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    assert [name for _, name in spans] == ["exported-span"]
    attributes = {a.key: a.value.string_value for a in spans[0][0].attributes}
    assert attributes["service.name"] == "analytics"
    assert attributes["service.namespace"] == "analyticbot"
