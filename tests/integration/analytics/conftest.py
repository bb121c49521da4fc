"""A real analytics gRPC server on port 0 over the session's database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import grpc
import pytest

from services.analytics.main import build


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
async def grpc_channel(pool: asyncpg.Pool, server_now: datetime) -> AsyncIterator[grpc.aio.Channel]:
    """A client channel to a started analytics server on port 0."""
    server = build(pool, port=0, clock=lambda: server_now)
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as client:
        yield client
    await server.stop(grace=1)
