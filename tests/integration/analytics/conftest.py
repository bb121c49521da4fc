"""A real analytics gRPC server on port 0 over the session's database and Redis.

Callers carry tokens signed by a key ring made here; the server verifies them with the
public key set, as it would after fetching it from the auth service. The default client
channel speaks as the trusted ``bot`` service, so tests about numbers need no grants;
``tests/integration/analytics/test_analytics_authorization.py`` covers users.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, cast

import asyncpg
import grpc
import pytest
import redis.asyncio as redis

from analyticbot.analytics.v1 import analytics_pb2_grpc
from analyticbot.runtime.tokens import SigningKey, TokenSigner
from services.analytics.auth import Authorizer, KeyRing
from services.analytics.cache import ResponseCache
from services.analytics.events import EventHub
from services.analytics.main import build

TRUSTED_SERVICE = "bot"
SUPERADMIN = 4_242


@pytest.fixture(scope="session")
def signer() -> TokenSigner:
    """The key ring tokens are signed with in these tests."""
    return TokenSigner([SigningKey.generate()])


@pytest.fixture
def token(signer: TokenSigner) -> Callable[..., str]:
    """Make a token: ``token("access", "42")``, ``token("share", "x", cid=7)``."""

    def make(kind: Any, subject: str, **extra: Any) -> str:
        issued, _ = signer.issue(kind, subject, 600, extra=extra)
        return issued

    return make


@pytest.fixture
def authorizer(signer: TokenSigner) -> Authorizer:
    """Verifies with the signer's public key set."""

    async def fetch() -> Mapping[str, Any]:
        return signer.jwks()

    return Authorizer(
        KeyRing(fetch),
        superadmins=frozenset({SUPERADMIN}),
        trusted_services=frozenset({TRUSTED_SERVICE}),
    )


@pytest.fixture
def server_now() -> datetime:
    """What the server's clock reads, so a request without a period is reproducible."""
    return datetime(2025, 3, 15, tzinfo=UTC)


@pytest.fixture
async def channel_id(pool: asyncpg.Pool, unique_id: int) -> AsyncIterator[int]:
    """A channel id no other test uses; its rows are deleted after the test."""
    yield unique_id
    async with pool.acquire() as conn:
        await conn.execute("DELETE FROM channels WHERE id = $1", unique_id)


@pytest.fixture
def prefix() -> str:
    """A Redis name prefix no other test uses."""
    return f"test:{uuid.uuid4().hex}:"


@pytest.fixture
async def hub(redis_client: redis.Redis, prefix: str) -> AsyncIterator[EventHub]:
    """A running event hub on this test's topics (``<prefix>channel:<id>``)."""
    hub = EventHub(redis_client, topic_prefix=f"{prefix}channel:")
    task = asyncio.create_task(hub.run())
    yield hub
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@pytest.fixture
def cache(redis_client: redis.Redis, prefix: str) -> ResponseCache:
    """A response cache under this test's prefix, announcing on ``<prefix>answers``."""
    return ResponseCache(
        redis_client, prefix=f"{prefix}cache:", ttl_seconds=60, topic=f"{prefix}answers"
    )


class _Bearer:
    """Adds ``authorization: Bearer <token>`` to every call without metadata."""

    def __init__(self, token: str) -> None:
        self._metadata = (("authorization", f"Bearer {token}"),)

    def details(self, details: Any) -> Any:
        if details.metadata:
            return details
        return details._replace(metadata=self._metadata)


class _UnaryBearer(_Bearer, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self.details(details), request)


class _StreamBearer(_Bearer, grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self.details(details), request)


@pytest.fixture
async def server_port(
    pool: asyncpg.Pool,
    authorizer: Authorizer,
    server_now: datetime,
    hub: EventHub,
    cache: ResponseCache,
) -> AsyncIterator[int]:
    """A started analytics server on port 0; yields its port."""
    await authorizer.keys.refresh()
    server = build(pool, authorizer, port=0, clock=lambda: server_now, hub=hub, cache=cache)
    await server.start()
    yield server.port
    await server.stop(grace=1)


@pytest.fixture
async def grpc_channel(
    server_port: int, token: Callable[..., str]
) -> AsyncIterator[grpc.aio.Channel]:
    """A client channel to the server, calling as the trusted service by default."""
    service_token = token("service", f"svc:{TRUSTED_SERVICE}")
    interceptors: list[grpc.aio.ClientInterceptor] = [
        _UnaryBearer(service_token),
        _StreamBearer(service_token),
    ]
    async with grpc.aio.insecure_channel(
        f"127.0.0.1:{server_port}", interceptors=interceptors
    ) as client:
        yield client


@pytest.fixture
def stub(grpc_channel: grpc.aio.Channel) -> analytics_pb2_grpc.AnalyticsServiceAsyncStub:
    """The typed AnalyticsService stub on the test server."""
    make: Callable[[grpc.aio.Channel], object] = analytics_pb2_grpc.AnalyticsServiceStub
    return cast("analytics_pb2_grpc.AnalyticsServiceAsyncStub", make(grpc_channel))
