"""Ingestion from the simulator into PostgreSQL: complete, idempotent, frugal, honest."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
import redis.asyncio as redis

from services.collector import repository as repo
from services.collector.clock import ManualClock
from services.collector.domain import ChannelConflict, ChannelInfo, ChannelNotTracked, dedupe_posts
from services.collector.events import INGEST_STREAM, channel_topic
from services.collector.repository import Conn, UpsertMethod
from services.collector.service import BatchResult, Collector
from services.collector.simulator import (
    EPOCH,
    SLOT_SECONDS,
    SimulatedSource,
    is_post,
    traits,
    username_of,
)


async def counts(pool: asyncpg.Pool, channel_id: int) -> tuple[int, int, int]:
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            """SELECT (SELECT count(*) FROM posts WHERE channel_id = $1) AS posts,
                      (SELECT count(*) FROM post_snapshots s JOIN posts p ON p.id = s.post_id
                        WHERE p.channel_id = $1) AS snapshots,
                      (SELECT count(*) FROM channel_snapshots WHERE channel_id = $1) AS subs""",
            channel_id,
        )
    assert row is not None
    return int(row["posts"]), int(row["snapshots"]), int(row["subs"])


async def track(pool: asyncpg.Pool, collector: Collector, number: int) -> int:
    async with pool.acquire() as conn:
        row, created = await collector.track_channel(conn, f"@{username_of(number)}")
    assert created
    return row.channel_id


async def backfill(pool: asyncpg.Pool, collector: Collector, channel_id: int) -> int:
    pages = 0
    async with pool.acquire() as conn:
        while not await collector.backfill_page(conn, channel_id):
            pages += 1
            assert pages < 50
    return pages


async def test_backfill_stores_the_whole_visible_history(
    pool: asyncpg.Pool, collector: Collector, source: SimulatedSource, number: int
) -> None:
    channel_id = await track(pool, collector, number)
    pages = await backfill(pool, collector, channel_id)
    expected = (await source.get_history(channel_id)).total
    posts, snapshots, _ = await counts(pool, channel_id)
    assert pages >= 2
    assert posts == expected
    assert snapshots == posts  # one first sample per post
    async with pool.acquire() as conn:
        state = await repo.collection_state(conn, channel_id)
        oldest = await conn.fetchval(
            "SELECT min(message_id) FROM posts WHERE channel_id = $1", channel_id
        )
        stored = await conn.fetchrow(
            """SELECT p.published_at, p.text_preview, s.views, s.reactions
               FROM posts p JOIN post_snapshots s ON s.post_id = p.id
               WHERE p.channel_id = $1 ORDER BY p.message_id DESC LIMIT 1""",
            channel_id,
        )
    assert (state.backfill_state, state.backfill_cursor, state.history_total) == (
        "done",
        oldest,
        expected,
    )
    newest = (await source.get_history(channel_id, limit=1)).posts[0]
    assert stored is not None
    assert (stored["published_at"], stored["text_preview"], stored["views"]) == (
        newest.published_at,
        newest.text_preview,
        newest.views,
    )
    assert stored["reactions"] == newest.reactions


async def test_rerunning_a_page_changes_nothing(
    pool: asyncpg.Pool, collector: Collector, source: SimulatedSource, number: int
) -> None:
    channel_id = await track(pool, collector, number)
    page = await source.get_history(channel_id)
    now = collector.clock.now()
    doubled = [*page.posts, *page.posts[:10]]  # duplicates inside one batch too
    methods: list[UpsertMethod] = ["unnest", "copy", "unnest"]
    for method in methods:
        unique = dedupe_posts(doubled)
        async with pool.acquire() as conn, conn.transaction():
            ids = await repo.upsert_posts(conn, channel_id, unique, now, method=method)
            await repo.insert_changed_snapshots(conn, ids, unique, now)
        assert await counts(pool, channel_id) == (len(page.posts), len(page.posts), 0)


async def test_unchanged_counters_write_no_rows_and_changed_ones_do(
    pool: asyncpg.Pool, collector: Collector, clock: ManualClock, unique_id: int, number: int
) -> None:
    channel_id = await track(pool, collector, number)
    await backfill(pool, collector, channel_id)
    before = await counts(pool, channel_id)
    async with pool.acquire() as conn:
        # Posts older than 20 days are saturated: an hour later no counter has changed.
        clock.advance(timedelta(hours=1))
        await make_due(conn, channel_id, clock, older=True)
        old = await refresh_all_due(collector, conn, channel_id)
        assert old.posts > 0
        assert old.snapshots == 0
        assert await counts(pool, channel_id) == before
        # A new post is still growing: its next refresh adds a row.
        fresh = next_post_after(clock.now(), unique_id, number)
        clock.set(fresh + timedelta(minutes=20))
        polled = await collector.poll_new_posts(conn, channel_id)
        assert polled >= 1
        clock.advance(timedelta(minutes=30))
        await make_due(conn, channel_id, clock, older=False)
        young = await refresh_all_due(collector, conn, channel_id)
    assert young.posts >= 1
    assert young.snapshots >= 1
    assert (await counts(pool, channel_id))[1] == before[1] + polled + young.snapshots


def next_post_after(when: datetime, seed: int, number: int) -> datetime:
    message_id = slot_id(when) + 1
    while not is_post(seed, number, message_id):
        message_id += 1
    return traits(seed, number, message_id).published_at


async def make_due(conn: Conn, channel_id: int, clock: ManualClock, *, older: bool) -> None:
    """Due now: posts older than 20 days (older) or younger than an hour; the rest later."""
    await conn.execute(
        """UPDATE posts SET next_refresh_at = CASE
               WHEN CASE WHEN $3 THEN published_at < $2::timestamptz - interval '20 days'
                         ELSE published_at > $2::timestamptz - interval '1 hour' END
               THEN $2::timestamptz ELSE $2::timestamptz + interval '1 year' END
           WHERE channel_id = $1""",
        channel_id,
        clock.now(),
        older,
    )


async def refresh_all_due(collector: Collector, conn: Conn, channel_id: int) -> BatchResult:
    total = BatchResult()
    while True:
        batch = await collector.refresh_counters(conn, channel_id)
        if not batch.posts + batch.deleted:
            return total
        total = BatchResult(
            total.posts + batch.posts,
            total.snapshots + batch.snapshots,
            total.deleted + batch.deleted,
        )


async def test_a_deletion_is_recorded_only_when_the_source_reports_it(
    pool: asyncpg.Pool, collector: Collector, clock: ManualClock, unique_id: int, number: int
) -> None:
    channel_id = await track(pool, collector, number)
    victim = next(
        t
        for t in (
            traits(unique_id, number, m)
            for m in range(slot_id(clock.now()), slot_id(clock.now() + timedelta(days=3650)))
            if is_post(unique_id, number, m)
        )
        if t.deleted_at is not None
    )
    assert victim.deleted_at is not None
    clock.set(victim.published_at + timedelta(minutes=1))
    async with pool.acquire() as conn:
        await collector.backfill_page(conn, channel_id)
        assert await _deleted_at(conn, channel_id, victim.message_id) is None
        clock.set(victim.deleted_at + timedelta(seconds=1))
        # The newest page no longer lists the victim, and that proves nothing.
        await collector.poll_new_posts(conn, channel_id)
        await collector.backfill_page(conn, channel_id)
        assert await _deleted_at(conn, channel_id, victim.message_id) is None
        # Asking for it by id is an explicit observation.
        result = await refresh_all_due(collector, conn, channel_id)
        assert result.deleted >= 1
        assert await _deleted_at(conn, channel_id, victim.message_id) == clock.now()
        rows = await conn.fetch(
            "SELECT message_id, deleted_at FROM posts WHERE channel_id = $1", channel_id
        )
    # Every recorded deletion really happened, and nothing else was marked.
    for row in rows:
        gone_at = traits(unique_id, number, row["message_id"]).deleted_at
        if row["deleted_at"] is not None:
            assert gone_at is not None
            assert gone_at <= row["deleted_at"]
    assert sum(1 for r in rows if r["deleted_at"] is not None) == result.deleted


def slot_id(when: datetime) -> int:
    return int((when - EPOCH).total_seconds() // SLOT_SECONDS) + 1


async def _deleted_at(conn: Conn, channel_id: int, message_id: int) -> object:
    return await conn.fetchval(
        "SELECT deleted_at FROM posts WHERE channel_id = $1 AND message_id = $2",
        channel_id,
        message_id,
    )


async def test_each_committed_batch_publishes_an_event(
    pool: asyncpg.Pool, collector: Collector, redis_client: redis.Redis, number: int
) -> None:
    channel_id = await track(pool, collector, number)
    async with redis_client.pubsub() as pubsub:
        await pubsub.subscribe(channel_topic(channel_id))
        await pubsub.get_message(timeout=1.0)  # the subscription confirmation
        async with pool.acquire() as conn:
            await collector.backfill_page(conn, channel_id)
            await collector.sample_subscribers(conn, channel_id)
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2.0)
    now = collector.clock.now().isoformat()
    assert message is not None
    assert json.loads(message["data"]) == {
        "channel_id": channel_id,
        "kind": "backfill",
        "at": now,
    }
    # The stream is shared: read back the newest entries and keep this channel's.
    entries = await redis_client.xrevrange(INGEST_STREAM, count=1000) or []
    mine = [
        (fields[b"kind"], fields[b"at"])
        for _, fields in reversed(entries)
        if fields is not None and fields[b"channel_id"] == str(channel_id).encode()
    ]
    assert mine == [(b"backfill", now.encode()), (b"subscribers", now.encode())]


async def test_subscribers_are_written_only_when_they_change(
    pool: asyncpg.Pool, collector: Collector, clock: ManualClock, number: int
) -> None:
    channel_id = await track(pool, collector, number)
    async with pool.acquire() as conn:
        assert await collector.sample_subscribers(conn, channel_id)
        assert not await collector.sample_subscribers(conn, channel_id)  # same instant
        clock.advance(timedelta(hours=30))
        assert await collector.sample_subscribers(conn, channel_id)
    assert (await counts(pool, channel_id))[2] == 2


async def test_untracked_channel_cannot_be_collected(
    pool: asyncpg.Pool, collector: Collector, channel_id: int
) -> None:
    async with pool.acquire() as conn:
        with pytest.raises(ChannelNotTracked):
            await collector.backfill_page(conn, channel_id)


async def test_tracking_one_new_channel_twice_at_once_creates_it_once(
    pool: asyncpg.Pool, unique_id: int
) -> None:
    """Two trackers of one new channel at the same moment (two replicas, two admins): one
    creates it, the other finds it; neither is told another channel holds the username.
    Before the retry, about one such pair in twelve failed with ChannelConflict."""
    now = datetime.now(UTC)
    async with pool.acquire() as first, pool.acquire() as second:
        for k in range(100):
            info = ChannelInfo(unique_id + k, f"race_{unique_id}_{k}", "Race")
            rows = await asyncio.gather(
                repo.upsert_channel(first, info, None, now),
                repo.upsert_channel(second, info, "Europe/Berlin", now),
            )
            assert sorted(created for _row, created in rows) == [False, True]
    # A different channel with a taken username is still refused, and changes nothing.
    clash = ChannelInfo(unique_id + 100, f"RACE_{unique_id}_0", "Impostor")
    async with pool.acquire() as conn:
        with pytest.raises(ChannelConflict):
            await repo.upsert_channel(conn, clash, None, now)
        holder = await conn.fetchval(
            "SELECT id FROM channels WHERE lower(username) = lower($1)", clash.username
        )
        missing = await conn.fetchval(
            "SELECT count(*) FROM channels WHERE id = $1", clash.channel_id
        )
    assert (holder, missing) == (unique_id, 0)
