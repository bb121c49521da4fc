"""An in-memory span exporter on this process's tracer provider, with asyncpg traced.

The global tracer provider can be set once per process, so the exporter is per session
and each test clears it first.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from analyticbot.runtime.telemetry import instrument_asyncpg, uninstrument_asyncpg


@pytest.fixture(scope="session")
def tracer_provider() -> Iterator[TracerProvider]:
    """The SDK provider every instrumentation in this process reports to."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        provider = current
    else:
        provider = TracerProvider(resource=Resource.create({SERVICE_NAME: "tests"}))
        trace.set_tracer_provider(provider)
    instrument_asyncpg(provider)
    yield provider
    uninstrument_asyncpg()


@pytest.fixture(scope="session")
def session_spans(tracer_provider: TracerProvider) -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@pytest.fixture
def spans(session_spans: InMemorySpanExporter) -> InMemorySpanExporter:
    """Finished spans of this test only."""
    session_spans.clear()
    return session_spans
