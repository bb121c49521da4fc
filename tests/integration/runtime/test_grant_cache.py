"""The grant cache against the real triggers of migrations/0011: roles are remembered,
and forgotten when a change is committed, whoever made it; while it cannot listen, it
reads every role from the database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from analyticbot.runtime.grant_cache import GrantCache
from analyticbot.runtime.rbac import Role

WAIT = 5.0


def _ids() -> tuple[int, int, int]:
    base = 7_000_000_000 + uuid.uuid4().int % 1_000_000_000
    return base, base + 1, base + 2  # user, second user, channel


async def _until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {WAIT} s: {what}")
        await asyncio.sleep(0.01)


@pytest.fixture
async def cache(pool: asyncpg.Pool, database_url: str) -> AsyncIterator[GrantCache]:
    grants = GrantCache(pool, database_url, probe_seconds=0.5, retry_seconds=(0.05, 0.2))
    task = asyncio.create_task(grants.run())

    async def listening() -> bool:
        return grants.listening

    await _until(listening, "listening")
    yield grants
    task.cancel()
    await asyncio.wait([task])


@pytest.fixture
async def writer(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection whose every statement commits: only a commit announces a change."""
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


@pytest.fixture
async def people(writer: asyncpg.Connection) -> AsyncIterator[tuple[int, int, int]]:
    user, other, channel = _ids()
    await writer.execute("INSERT INTO users (id) VALUES ($1), ($2)", user, other)
    await writer.execute("INSERT INTO channels (id, title) VALUES ($1, 'grant cache')", channel)
    yield user, other, channel
    await writer.execute("DELETE FROM channels WHERE id = $1", channel)
    await writer.execute("DELETE FROM users WHERE id = ANY($1::bigint[])", [user, other])


async def _grant(conn: asyncpg.Connection, user: int, channel: int, role: str) -> None:
    await conn.execute(
        """INSERT INTO grants (user_id, channel_id, role) VALUES ($1, $2, $3)
           ON CONFLICT (user_id, channel_id) DO UPDATE SET role = $3""",
        user,
        channel,
        role,
    )


async def _announced(cache: GrantCache, change: Awaitable[object]) -> None:
    """Make a change and wait for its announcement (a read that raced it may have
    remembered the new role and then dropped it again)."""
    before = cache.announcements
    await change

    async def arrived() -> bool:
        return cache.announcements > before

    await _until(arrived, "the change is announced")


async def test_a_role_is_read_once_then_remembered(
    cache: GrantCache, writer: asyncpg.Connection, people: tuple[int, int, int]
) -> None:
    user, _, channel = people
    await _announced(cache, _grant(writer, user, channel, "viewer"))
    assert await cache.role(user, channel) is Role.VIEWER
    misses = cache.misses
    for _ in range(5):
        assert await cache.role(user, channel) is Role.VIEWER
    assert cache.misses == misses


async def _is(cache: GrantCache, user: int, channel: int, role: Role | None) -> bool:
    return await cache.role(user, channel) is role


async def test_changes_made_directly_in_sql_are_seen(
    cache: GrantCache, writer: asyncpg.Connection, people: tuple[int, int, int]
) -> None:
    user, _, channel = people
    assert await cache.role(user, channel) is None  # "no grant" is remembered too
    assert await cache.role(user, channel) is None
    await _grant(writer, user, channel, "viewer")
    await _until(lambda: _is(cache, user, channel, Role.VIEWER), "the insert is seen")
    await writer.execute(
        "UPDATE grants SET role = 'admin' WHERE user_id = $1 AND channel_id = $2", user, channel
    )
    await _until(lambda: _is(cache, user, channel, Role.ADMIN), "the update is seen")
    await writer.execute("DELETE FROM grants WHERE user_id = $1", user)
    await _until(lambda: _is(cache, user, channel, None), "the delete is seen")
    await _grant(writer, user, channel, "owner")
    await _until(lambda: _is(cache, user, channel, Role.OWNER), "the new grant is seen")
    await writer.execute("DELETE FROM users WHERE id = $1", user)  # cascades to grants
    await _until(lambda: _is(cache, user, channel, None), "the cascaded delete is seen")


async def test_an_unchanged_upsert_announces_nothing(
    cache: GrantCache, writer: asyncpg.Connection, people: tuple[int, int, int]
) -> None:
    user, other, channel = people
    await _announced(cache, _grant(writer, user, channel, "analyst"))
    assert await cache.role(user, channel) is Role.ANALYST
    await _grant(writer, user, channel, "analyst")  # the bot's resync writes this often
    # Notifications arrive in commit order: once the other user's change is seen, the
    # upsert's would have been too.
    assert await cache.role(other, channel) is None
    await _announced(cache, _grant(writer, other, channel, "viewer"))
    misses = cache.misses
    assert await cache.role(user, channel) is Role.ANALYST
    assert cache.misses == misses


async def test_a_read_overtaken_by_an_announcement_is_not_remembered(
    cache: GrantCache, people: tuple[int, int, int]
) -> None:
    user, _, channel = people
    reading = asyncio.create_task(cache.role(user, channel))
    await asyncio.sleep(0)  # the read has begun: it waits for a connection or the query
    cache.forget(user)  # a change announced meanwhile
    assert await reading is None
    assert cache.stats()["users"] == 0
    misses = cache.misses
    await cache.role(user, channel)
    assert cache.misses == misses + 1


async def test_a_lost_listener_reads_everything_until_it_listens_again(
    cache: GrantCache, writer: asyncpg.Connection, people: tuple[int, int, int]
) -> None:
    user, _, channel = people
    await _grant(writer, user, channel, "viewer")
    await _until(lambda: _is(cache, user, channel, Role.VIEWER), "the grant is seen")
    listener = cache._conn  # the test needs the listening backend to kill it
    assert listener is not None
    connections = cache.connections
    await writer.execute("SELECT pg_terminate_backend($1)", listener.get_server_pid())

    async def listening_again() -> bool:
        return cache.listening and cache.connections > connections

    await _until(listening_again, "listening again")
    assert cache.stats()["users"] == 0  # nothing remembered from before survives it
    await writer.execute(
        "UPDATE grants SET role = 'analyst' WHERE user_id = $1 AND channel_id = $2",
        user,
        channel,
    )
    await _until(lambda: _is(cache, user, channel, Role.ANALYST), "a change after it is seen")


async def test_without_a_listener_every_role_is_read(
    pool: asyncpg.Pool, writer: asyncpg.Connection, people: tuple[int, int, int]
) -> None:
    user, _, channel = people
    cache = GrantCache(pool)
    assert not cache.listens
    await _grant(writer, user, channel, "viewer")
    assert await cache.role(user, channel) is Role.VIEWER
    await writer.execute(
        "UPDATE grants SET role = 'owner' WHERE user_id = $1 AND channel_id = $2", user, channel
    )
    assert await cache.role(user, channel) is Role.OWNER  # no wait: nothing is kept
    assert cache.stats()["users"] == 0


async def test_an_entry_expires_after_its_ttl(
    pool: asyncpg.Pool, database_url: str, writer: asyncpg.Connection, people: tuple[int, int, int]
) -> None:
    user, _, channel = people
    now = [1000.0]
    cache = GrantCache(pool, database_url, ttl_seconds=10, clock=lambda: now[0])
    task = asyncio.create_task(cache.run())
    try:

        async def listening() -> bool:
            return cache.listening

        await _until(listening, "listening")
        await cache.role(user, channel)
        misses = cache.misses
        now[0] += 9.9
        await cache.role(user, channel)
        assert cache.misses == misses
        now[0] += 0.2
        await cache.role(user, channel)
        assert cache.misses == misses + 1
    finally:
        task.cancel()
        await asyncio.wait([task])
