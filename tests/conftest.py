"""Real PostgreSQL and Redis for every test that needs them.

Order of preference: ``DATABASE_URL`` / ``REDIS_URL`` from the environment, then the
servers on this machine's default ports, then embedded servers started under
``.data/test``. A test is never skipped for lack of a backend.

Each test session gets its own freshly migrated database, dropped at the end, so runs
never see each other's rows.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import cast

import asyncpg
import pytest
import redis.asyncio as redis

from analyticbot.embedded import EmbeddedStores, start_postgres, start_redis
from analyticbot.runtime.db import create_pool
from tests.support import ROOT, drop_database, fresh_database

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS = "redis://127.0.0.1:6379/0"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def embedded() -> Iterator[EmbeddedStores]:
    stores = EmbeddedStores()
    yield stores
    stores.stop()


@pytest.fixture(scope="session")
def admin_database_url(embedded: EmbeddedStores) -> str:
    """A URL with rights to create databases."""
    if url := os.environ.get("DATABASE_URL"):
        return url
    if _reachable("127.0.0.1", 5432):
        return LOCAL_POSTGRES
    return start_postgres(ROOT / ".data" / "test" / "pg", embedded, database="postgres")


@pytest.fixture(scope="session")
def database_url(admin_database_url: str) -> Iterator[str]:
    """A fresh, migrated database for this test session."""
    url = fresh_database(admin_database_url)
    yield url
    drop_database(admin_database_url, url)


@pytest.fixture(scope="session")
def redis_url(embedded: EmbeddedStores) -> str:
    if url := os.environ.get("REDIS_URL"):
        return url
    if _reachable("127.0.0.1", 6379):
        return LOCAL_REDIS
    return start_redis(ROOT / ".data" / "test" / "redis", embedded)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, min_size=1, max_size=5)
    yield pool
    await pool.close()


@pytest.fixture
async def conn(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    async with pool.acquire() as connection:
        tx = connection.transaction()
        await tx.start()
        yield cast(asyncpg.Connection, connection)
        await tx.rollback()


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def unique_id() -> int:
    """A channel/user id no other test (or concurrent run) uses."""
    return 7_000_000_000 + uuid.uuid4().int % 1_000_000_000
