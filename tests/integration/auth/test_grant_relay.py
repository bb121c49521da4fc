"""Auth's relay end to end on the real PostgreSQL and Redis: a grant changed directly in
SQL reaches a gateway's access cache, and a lost listener makes the gateway stop
trusting what it remembers until auth listens again."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import asyncpg
import pytest
import redis.asyncio as redis

from analyticbot.auth.v1 import auth_pb2
from analyticbot.runtime.grant_cache import GrantCache
from gateway.access_cache import AccessCache
from services.auth.grant_relay import GrantRelay

ANSWER = auth_pb2.CheckAccessResponse(allowed=True, role=auth_pb2.ROLE_VIEWER)


@dataclass
class Relayed:
    grants: GrantCache
    gateway: AccessCache
    writer: asyncpg.Connection
    user: int
    channel: int


async def _until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not within 5 s: {what}")


@pytest.fixture
async def relayed(pool: asyncpg.Pool, database_url: str, redis_url: str) -> AsyncIterator[Relayed]:
    topic = f"test:grants:{uuid.uuid4().hex}"
    grants = GrantCache(pool, database_url, probe_seconds=0.5, retry_seconds=(0.05, 0.2))
    publisher = redis.Redis.from_url(redis_url)
    gateway = AccessCache(
        redis.Redis.from_url(redis_url), topic, stale_seconds=1.0, retry_seconds=0.1
    )
    relay = GrantRelay(grants, publisher, topic, heartbeat_seconds=0.1)
    tasks = [asyncio.create_task(t) for t in (grants.run(), relay.run(), gateway.run())]
    writer = await asyncpg.connect(database_url)
    user = 7_000_000_000 + uuid.uuid4().int % 1_000_000_000
    channel = user + 1
    await writer.execute("INSERT INTO users (id) VALUES ($1)", user)
    await writer.execute("INSERT INTO channels (id, title) VALUES ($1, 'relay')", channel)
    await _until(lambda: gateway.trusted, "the gateway hears the relay")
    yield Relayed(grants, gateway, writer, user, channel)
    await writer.execute("DELETE FROM channels WHERE id = $1", channel)
    await writer.execute("DELETE FROM users WHERE id = $1", user)
    await writer.close()
    for task in tasks:
        task.cancel()
    await asyncio.wait(tasks)
    await gateway.close()
    await publisher.aclose()


def _remember(r: Relayed) -> None:
    r.gateway.put(r.user, r.channel, "view_analytics", ANSWER, r.gateway.generation)
    assert r.gateway.get(r.user, r.channel, "view_analytics") == ANSWER


async def test_a_grant_changed_in_sql_reaches_the_gateway(relayed: Relayed) -> None:
    r = relayed
    _remember(r)
    await r.writer.execute(
        "INSERT INTO grants (user_id, channel_id, role) VALUES ($1, $2, 'viewer')",
        r.user,
        r.channel,
    )
    await _until(lambda: r.gateway.get(r.user, r.channel, "view_analytics") is None, "forgotten")
    assert r.gateway.trusted


async def test_other_users_changes_leave_an_answer_alone(relayed: Relayed) -> None:
    r = relayed
    _remember(r)
    other = r.user + 2
    await r.writer.execute("INSERT INTO users (id) VALUES ($1)", other)
    try:
        generation = r.gateway.generation
        await r.writer.execute(
            "INSERT INTO grants (user_id, channel_id, role) VALUES ($1, $2, 'viewer')",
            other,
            r.channel,
        )
        await _until(lambda: r.gateway.generation > generation, "the change is heard")
        assert r.gateway.get(r.user, r.channel, "view_analytics") == ANSWER
    finally:
        await r.writer.execute("DELETE FROM users WHERE id = $1", other)


async def test_a_lost_listener_makes_the_gateway_forget_and_distrust(relayed: Relayed) -> None:
    r = relayed
    _remember(r)
    listener = r.grants._conn  # the test needs the listening backend to kill it
    assert listener is not None
    connections = r.grants.connections
    await r.writer.execute("SELECT pg_terminate_backend($1)", listener.get_server_pid())
    await _until(lambda: r.gateway.get(r.user, r.channel, "view_analytics") is None, "forgotten")
    await _until(lambda: r.grants.connections > connections, "auth listens again")
    await _until(lambda: r.gateway.trusted, "the gateway trusts again")
