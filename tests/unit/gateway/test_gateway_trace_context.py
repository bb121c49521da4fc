"""The gateway's tracing when this process records no span (``gateway.tracing``): each
request still runs in a trace of its own, for its logs and its gRPC calls, without the
instrumentation's per-request attribute collection."""

from __future__ import annotations

from typing import Any, cast

import httpx
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON
from quart import Quart

from gateway.tracing import install_tracing, records_spans

SENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def _app(provider: TracerProvider) -> Quart:
    app = Quart(__name__)

    @app.get("/context")
    async def context() -> dict[str, object]:
        span = trace.get_current_span()
        ids = span.get_span_context()
        return {
            "valid": ids.is_valid,
            "trace_id": f"{ids.trace_id:032x}",
            "sampled": ids.trace_flags.sampled,
            "recording": span.is_recording(),
        }

    @app.get("/healthz")
    async def healthz() -> dict[str, object]:
        return {"valid": trace.get_current_span().get_span_context().is_valid}

    install_tracing(app, provider)
    return app


async def test_without_recording_each_request_gets_a_trace_of_its_own() -> None:
    app = _app(TracerProvider(sampler=ALWAYS_OFF))
    transport = httpx.ASGITransport(app=cast(Any, app))
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        first = (await client.get("/context")).json()
        second = (await client.get("/context")).json()
        # A browser's traceparent neither picks the trace nor forces sampling.
        sent = f"00-{SENT_TRACE}-00f067aa0ba902b7-01"
        chosen = (await client.get("/context", headers={"traceparent": sent})).json()
        probe = (await client.get("/healthz")).json()
    assert all(r["valid"] for r in (first, second, chosen))
    assert len({first["trace_id"], second["trace_id"], chosen["trace_id"]}) == 3
    assert chosen["trace_id"] != SENT_TRACE
    assert not any(r["sampled"] or r["recording"] for r in (first, second, chosen))
    assert probe == {"valid": False}  # probes are not traced


async def test_a_recording_provider_gets_the_instrumented_middleware() -> None:
    app = _app(TracerProvider(sampler=ALWAYS_ON))
    transport = httpx.ASGITransport(app=cast(Any, app))
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        reply = (await client.get("/context")).json()
    assert (reply["valid"], reply["recording"], reply["sampled"]) == (True, True, True)


def test_only_the_sdk_provider_with_sampling_off_records_nothing() -> None:
    assert not records_spans(TracerProvider(sampler=ALWAYS_OFF))
    assert records_spans(TracerProvider())
    # Nothing configured yet (the API's proxy): instrument, as a provider may come later.
    assert records_spans(trace.ProxyTracerProvider())
