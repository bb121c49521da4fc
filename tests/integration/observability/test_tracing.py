"""One Mini App request yields one trace: gateway → gRPC → analytics → PostgreSQL.

The gateway runs as built by ``create_app`` (its own peer channels, opened from
settings), the analytics service is the real ``grpc.aio`` server over the test database,
and auth is the gateway tests' fake in a real server (it must allow the test's channel).
Spans land in an in-memory exporter.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from pydantic import SecretStr

from analyticbot.auth.v1 import auth_pb2, auth_pb2_grpc
from analyticbot.runtime.grpc_server import GrpcServer, build_server
from gateway.app import create_app
from gateway.config import GatewaySettings
from services.analytics.auth import Authorizer, KeyRing
from services.analytics.main import build
from tests.integration.gateway.fake_data import PeerLog
from tests.integration.gateway.gateway_fakes import AUTH_SERVICE, USER_ID, FakeAuth

OVERVIEW_RPC = "/analyticbot.analytics.v1.AnalyticsService/GetChannelOverview"
CHECK_ACCESS_RPC = "/analyticbot.auth.v1.AuthService/CheckAccess"
NOW = datetime(2025, 3, 15, tzinfo=UTC)


class ChannelAuth(FakeAuth):
    """The fake auth service, granting the test user the test's channel."""

    def __init__(self, log: PeerLog, channel_id: int) -> None:
        super().__init__(log)
        self.channel_id = channel_id

    async def CheckAccess(self, request: Any, context: Any) -> auth_pb2.CheckAccessResponse:
        self._user(context, "CheckAccess")
        allowed = request.channel_id == self.channel_id
        role = auth_pb2.ROLE_OWNER if allowed else auth_pb2.ROLE_UNSPECIFIED
        return auth_pb2.CheckAccessResponse(allowed=allowed, role=role)


@dataclass
class Backends:
    auth: ChannelAuth
    auth_server: GrpcServer
    analytics_server: GrpcServer


@pytest.fixture
async def channel(pool: asyncpg.Pool, unique_id: int) -> AsyncIterator[int]:
    """A channel with two subscriber samples; deleted afterwards."""
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO channels (id, title) VALUES ($1, 'Traced')", unique_id)
        await conn.executemany(
            "INSERT INTO channel_snapshots (channel_id, sampled_at, subscribers) "
            "VALUES ($1, $2, $3)",
            [(unique_id, datetime(2025, 3, 1, tzinfo=UTC), 1000), (unique_id, NOW, 1100)],
        )
    yield unique_id
    async with pool.acquire() as conn:
        await conn.execute("DELETE FROM channels WHERE id = $1", unique_id)


@pytest.fixture
async def backends(
    spans: InMemorySpanExporter, pool: asyncpg.Pool, channel: int
) -> AsyncIterator[Backends]:
    """Fake auth and the real analytics service, both traced, on port 0."""
    auth = ChannelAuth(PeerLog(), channel)
    auth_server = build_server(
        [(lambda s: auth_pb2_grpc.add_AuthServiceServicer_to_server(auth, s), AUTH_SERVICE)],
        host="127.0.0.1",
    )

    async def jwks() -> Mapping[str, Any]:
        return auth.signer.jwks()

    # A superadmin sees every channel, so analytics needs no grant rows for the user.
    authorizer = Authorizer(KeyRing(jwks), superadmins=frozenset({USER_ID}))
    await authorizer.keys.refresh()
    analytics_server = build(pool, authorizer, port=0, clock=lambda: NOW)
    await auth_server.start()
    await analytics_server.start()
    yield Backends(auth, auth_server, analytics_server)
    await analytics_server.stop(0)
    await auth_server.stop(0)


def _ancestors(span: ReadableSpan, by_id: Mapping[int, ReadableSpan]) -> list[ReadableSpan]:
    chain = []
    current = span
    while current.parent is not None:
        current = by_id[current.parent.span_id]
        chain.append(current)
    return chain


def _one(spans: Sequence[ReadableSpan], name: str, kind: SpanKind) -> ReadableSpan:
    found = [s for s in spans if s.name == name and s.kind == kind]
    assert len(found) == 1, [(s.name, s.kind) for s in spans]
    return found[0]


async def _finished_trace(exporter: InMemorySpanExporter, root_name: str) -> list[ReadableSpan]:
    """Every span of the trace whose root is ``root_name``, once the database spans of
    the analytics server have ended (a server span may end just after the response)."""
    for _ in range(50):
        finished = exporter.get_finished_spans()
        roots = [s for s in finished if s.name == root_name and s.kind == SpanKind.SERVER]
        if roots:
            assert roots[0].context is not None
            trace_id = roots[0].context.trace_id
            spans = [s for s in finished if s.context and s.context.trace_id == trace_id]
            if any(s.name == OVERVIEW_RPC and s.kind == SpanKind.SERVER for s in spans):
                return spans
        await asyncio.sleep(0.05)
    raise AssertionError([(s.name, s.kind) for s in exporter.get_finished_spans()])


async def test_overview_request_is_one_trace_from_gateway_to_database(
    spans: InMemorySpanExporter, backends: Backends, channel: int, redis_url: str, tmp_path: Any
) -> None:
    settings = GatewaySettings(
        env="development",
        redis_url=SecretStr(redis_url),
        rate_limit_key_prefix=f"test:tracing:{channel}",
        auth_addr=f"127.0.0.1:{backends.auth_server.port}",
        analytics_addr=f"127.0.0.1:{backends.analytics_server.port}",
        miniapp_dir=tmp_path,
    )
    app = create_app(settings)
    token = backends.auth.signer.issue("access", str(USER_ID), 900)[0]
    async with app.test_app():
        response = await app.test_client().get(
            f"/api/v1/channels/{channel}/overview",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, await response.get_data(as_text=True)
        assert (await response.get_json())["channel_id"] == channel

    trace = await _finished_trace(spans, "GET /api/v1/channels/<channel_id>/overview")
    by_id = {s.context.span_id: s for s in trace if s.context is not None}
    root = _one(trace, "GET /api/v1/channels/<channel_id>/overview", SpanKind.SERVER)
    assert root.parent is None
    assert root.attributes is not None
    assert root.attributes["http.route"] == "/api/v1/channels/<channel_id>/overview"

    # gateway → analytics: the client span is inside the request, the server span is
    # its remote child.
    client = _one(trace, OVERVIEW_RPC, SpanKind.CLIENT)
    server = _one(trace, OVERVIEW_RPC, SpanKind.SERVER)
    assert root in _ancestors(client, by_id)
    assert server.parent is not None
    assert server.parent.is_remote
    assert client.context is not None
    assert server.parent.span_id == client.context.span_id

    # analytics → PostgreSQL: every query of the RPC is a child of its server span.
    queries = [
        s
        for s in trace
        if s.kind == SpanKind.CLIENT and (s.attributes or {}).get("db.system") == "postgresql"
    ]
    assert queries, [(s.name, s.kind) for s in trace]
    assert all(server in _ancestors(q, by_id) for q in queries)
    assert {q.name for q in queries} & {"SELECT", "WITH"}

    # gateway → auth: the access check is part of the same trace.
    check_client = _one(trace, CHECK_ACCESS_RPC, SpanKind.CLIENT)
    check_server = _one(trace, CHECK_ACCESS_RPC, SpanKind.SERVER)
    assert check_client.context is not None
    assert check_server.parent is not None
    assert check_server.parent.span_id == check_client.context.span_id
