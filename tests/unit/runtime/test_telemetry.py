"""Where spans go, and log lines that lead to their trace."""

from __future__ import annotations

import json
import logging
from typing import Any, cast

import grpc
import pytest
from opentelemetry.instrumentation.grpc.filters import negate, service_prefix
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from analyticbot.runtime import telemetry
from analyticbot.runtime.logging import configure_logging
from analyticbot.runtime.telemetry import otlp_endpoint, sampler_for

ENDPOINT_VARIABLES = (
    "ANALYTICBOT_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
)


@pytest.fixture
def no_endpoint(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for variable in ENDPOINT_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    return monkeypatch


def test_no_endpoint_means_no_export(no_endpoint: pytest.MonkeyPatch) -> None:
    assert otlp_endpoint() is None
    assert otlp_endpoint("") is None


def test_setting_wins_over_the_standard_variables(no_endpoint: pytest.MonkeyPatch) -> None:
    no_endpoint.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4317")
    assert otlp_endpoint() == "http://generic:4317"
    no_endpoint.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:4317")
    assert otlp_endpoint() == "http://traces:4317"
    assert otlp_endpoint("http://configured:4317") == "http://configured:4317"


def _last_record(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record: dict[str, str] = json.loads(line)
    return record


def test_logs_carry_the_trace_of_the_active_span(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("testsvc")
    tracer = TracerProvider().get_tracer("test")
    try:
        with tracer.start_as_current_span("request") as span:
            logging.getLogger("x").warning("inside")
        inside = _last_record(capsys)
        logging.getLogger("x").warning("outside")
        outside = _last_record(capsys)
    finally:
        logging.getLogger().handlers.clear()
    context = span.get_span_context()
    assert inside["trace_id"] == f"{context.trace_id:032x}"
    assert inside["span_id"] == f"{context.span_id:016x}"
    assert "trace_id" not in outside
    assert "span_id" not in outside


def test_without_an_endpoint_spans_are_not_recorded_but_logs_keep_their_trace(
    no_endpoint: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    no_endpoint.delenv("OTEL_TRACES_SAMPLER", raising=False)
    sampler = sampler_for(otlp_endpoint())
    assert sampler is ALWAYS_OFF
    configure_logging("testsvc")
    tracer = TracerProvider(sampler=sampler).get_tracer("test")
    try:
        with tracer.start_as_current_span("request") as span:
            logging.getLogger("x").warning("inside")
        inside = _last_record(capsys)
    finally:
        logging.getLogger().handlers.clear()
    assert not span.is_recording()
    assert inside["trace_id"] == f"{span.get_span_context().trace_id:032x}"


def test_an_endpoint_or_a_chosen_sampler_records_spans(no_endpoint: pytest.MonkeyPatch) -> None:
    assert sampler_for("http://collector:4317") is None
    no_endpoint.setenv("OTEL_TRACES_SAMPLER", "traceidratio")
    assert sampler_for(None) is None


class _Handler(grpc.HandlerCallDetails):
    def __init__(self, method: str) -> None:
        self.method = method
        self.invocation_metadata = ()


def test_grpc_internal_filter_decides_as_the_instrumentations_own() -> None:
    library: Any = negate(service_prefix("grpc."))
    methods = [
        "/grpc.health.v1.Health/Check",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        "/analyticbot.analytics.v1.AnalyticsService/GetChannelOverview",
        "/analyticbot.auth.v1.AuthService/CheckAccess",
        "/grpcish.Service/Call",
    ]
    for method in methods:
        server_side = _Handler(method)
        # grpc hands the client-side interceptor the method name as bytes (grpc#31092).
        client_side = grpc.aio.ClientCallDetails(cast(Any, method.encode()), None, None, None, None)
        want = library(server_side)
        assert telemetry._not_grpc_internal(server_side) is want, method
        assert telemetry._not_grpc_internal(client_side) is library(client_side), method
    assert telemetry._not_grpc_internal(_Handler("/grpc.health.v1.Health/Watch")) is False
    assert telemetry._not_grpc_internal(_Handler("/analyticbot.x.v1.S/M")) is True
