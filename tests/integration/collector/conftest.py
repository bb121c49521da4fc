"""Collector fixtures: a simulated channel of its own per test, a manual clock, real stores."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import grpc
import pytest
import redis.asyncio as redis
from grpc.aio import ClientCallDetails

from analyticbot.runtime.jwks import JwksKeyRing
from analyticbot.runtime.tokens import SigningKey, TokenSigner
from services.collector.auth import CollectorAuth
from services.collector.clock import ManualClock
from services.collector.config import CollectorSettings
from services.collector.events import EventPublisher
from services.collector.main import CollectorApp, build
from services.collector.service import Collector
from services.collector.simulator import SIM_ID_SPAN, SimulatedSource, channel_id_of

START = datetime(2026, 3, 10, 12, tzinfo=UTC)
HISTORY = timedelta(days=120)


@pytest.fixture
def number(unique_id: int) -> int:
    """A simulated channel number no other test uses."""
    return 1000 + unique_id % (SIM_ID_SPAN - 1000)


@pytest.fixture
def channel_id(number: int) -> int:
    return channel_id_of(number)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def source(unique_id: int, clock: ManualClock) -> SimulatedSource:
    return SimulatedSource(unique_id, clock, START - HISTORY)


@pytest.fixture
def collector(source: SimulatedSource, clock: ManualClock, redis_client: redis.Redis) -> Collector:
    return Collector(source, clock, EventPublisher(redis_client))


SUPERADMIN = 4242


@pytest.fixture(scope="session")
def signer() -> TokenSigner:
    """The auth service's signing keys, as far as these tests are concerned."""
    return TokenSigner([SigningKey.generate()])


@pytest.fixture
async def collector_auth(signer: TokenSigner) -> CollectorAuth:
    async def fetch() -> dict[str, Any]:
        return signer.jwks()

    keys = JwksKeyRing(fetch)
    await keys.refresh()
    return CollectorAuth(
        keys, superadmins=frozenset({SUPERADMIN}), trusted_services=frozenset({"bot", "gateway"})
    )


def service_token(signer: TokenSigner, service: str) -> str:
    """A service token of ``service``."""
    return signer.issue("service", f"svc:{service}", 300)[0]


class Bearer(grpc.aio.UnaryUnaryClientInterceptor):
    """Adds ``authorization: Bearer <token>`` to every call of a channel."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def intercept_unary_unary(
        self,
        continuation: Callable[[ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: ClientCallDetails,
        request: Any,
    ) -> Any:
        metadata = list(client_call_details.metadata or [])
        metadata.append(("authorization", f"Bearer {self._token}"))
        details = ClientCallDetails(
            client_call_details.method,
            client_call_details.timeout,
            grpc.aio.Metadata(*metadata),
            client_call_details.credentials,
            client_call_details.wait_for_ready,
        )
        return await continuation(details, request)


@pytest.fixture
async def app(
    database_url: str,
    redis_url: str,
    pool: asyncpg.Pool,
    redis_client: redis.Redis,
    source: SimulatedSource,
    clock: ManualClock,
    collector_auth: CollectorAuth,
) -> AsyncIterator[CollectorApp]:
    settings = CollectorSettings.model_validate(
        {
            "env": "development",
            "database_url": database_url,
            "redis_url": redis_url,
            "grpc_port": 0,
            "auth_addr": "127.0.0.1:1",
        }
    )
    built = await build(settings, pool, redis_client, source, clock, collector_auth)
    await built.server.start()
    yield built
    await built.server.stop(0)
