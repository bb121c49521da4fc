"""The median curve's values kept between post details (services/analytics/curve_baselines):
equal to reading them afresh for any window, whatever was committed in between, read
again only for the days a window lacks or a commit changed, within the memory bound."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import redis.asyncio as redis

from analyticbot.analytics.v1 import analytics_pb2_grpc, posts_pb2
from services.analytics import curves, posts_repository
from services.analytics.cache import ResponseCache
from services.analytics.curve_baselines import CurveBaselines
from services.analytics.curves import Known
from services.analytics.events import EventHub
from services.analytics.reach import Ratio
from services.analytics.repository import Connection
from tests.integration.analytics.dataset import X, seed, t
from tests.integration.analytics.ingest_events import publish_and_hear

START = datetime(2025, 1, 1, tzinfo=UTC)
END = START + timedelta(days=60)


async def history(pool: asyncpg.Pool, channel_id: int) -> list[int]:
    """~160 posts over 40 days at uneven moments (some on midnight exactly, some deleted),
    each with 0-12 samples over 10 days; returns the post ids."""
    draw = random.Random(20251126)
    ids = []
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO channels (id, title) VALUES ($1, 'Baselines')", channel_id)
        for message_id in range(1, 161):
            published = START + timedelta(minutes=draw.randrange(0, 40 * 24 * 60))
            if message_id % 17 == 0:
                published = published.replace(hour=0, minute=0)
            deleted = published + timedelta(days=1) if message_id % 23 == 0 else None
            post_id = await conn.fetchval(
                "INSERT INTO posts (channel_id, message_id, published_at, last_checked_at,"
                " deleted_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                channel_id,
                message_id,
                published,
                published + timedelta(hours=draw.randint(0, 200)),
                deleted,
            )
            minutes = sorted(draw.sample(range(-60, 14_400), draw.randint(0, 12)))
            await conn.executemany(
                "INSERT INTO post_snapshots (post_id, sampled_at, views, forwards, replies,"
                " reactions_total) VALUES ($1, $2, $3, 0, 0, 0)",
                [
                    (post_id, published + timedelta(minutes=m), 3 * max(m, 0) + m % 7)
                    for m in minutes
                ],
            )
            ids.append(post_id)
    return ids


Plain = list[tuple[list[Ratio], list[float]]]


def plain(columns: list[Known]) -> Plain:
    return [(list(known.values), list(known.floats)) for known in columns]


async def fresh(conn: Connection, channel_id: int, start: datetime, end: datetime) -> Plain:
    return plain(
        curves.curve_views(await posts_repository.post_curves(conn, channel_id, start, end))
    )


async def kept(
    baselines: CurveBaselines,
    conn: Connection,
    channel_id: int,
    start: datetime,
    end: datetime,
) -> Plain:
    return plain(await baselines.columns(conn, channel_id, start, end))


def windows(count: int) -> list[tuple[datetime, datetime]]:
    """Post detail's windows (30 days before a moment), on and off midnight."""
    draw = random.Random(7)
    ends = [START + timedelta(days=d) for d in (0, 1, 30, 31, 41)]
    ends += [START + timedelta(minutes=draw.randrange(0, 42 * 24 * 60)) for _ in range(count)]
    return [(end - timedelta(days=30), end) for end in ends]


async def test_kept_values_equal_fresh_ones_and_days_are_read_once(
    pool: asyncpg.Pool, channel_id: int
) -> None:
    await history(pool, channel_id)
    baselines = CurveBaselines()
    async with pool.acquire() as conn:
        for start, end in windows(40):
            got = await kept(baselines, conn, channel_id, start, end)
            assert got == await fresh(conn, channel_id, start, end), (start, end)
        read = baselines.days_read
        spans = windows(40)
        touched = (max(end for _, end in spans) - min(start for start, _ in spans)).days + 1
        assert read <= touched  # each day a window touches, read once
        for start, end in windows(40):
            assert await kept(baselines, conn, channel_id, start, end) == await fresh(
                conn, channel_id, start, end
            )
        assert baselines.days_read == read
        assert await kept(baselines, conn, channel_id, START, START) == [
            ([], []) for _ in curves.CURVE_AGES
        ]


async def test_a_commit_is_seen_at_once_and_only_its_days_are_read_again(
    pool: asyncpg.Pool, channel_id: int
) -> None:
    ids = await history(pool, channel_id)
    baselines = CurveBaselines()
    start, end = START, START + timedelta(days=30)
    async with pool.acquire() as conn:
        before = await kept(baselines, conn, channel_id, start, end)
        assert before == await fresh(conn, channel_id, start, end)
        read = baselines.days_read
        assert await kept(baselines, conn, channel_id, start, end) == before
        assert baselines.days_read == read

        async def changed(statement: str, *args: object) -> int:
            """Run ``statement``; the days read again to answer the same window."""
            nonlocal read
            await conn.execute(statement, *args)
            got = await kept(baselines, conn, channel_id, start, end)
            assert got == await fresh(conn, channel_id, start, end)
            days, read = baselines.days_read - read, baselines.days_read
            return days

        day_posts = await conn.fetch(
            "SELECT id FROM posts WHERE channel_id = $1 AND published_at >= $2"
            " AND published_at < $3 AND deleted_at IS NULL ORDER BY published_at",
            channel_id,
            START + timedelta(days=10),
            START + timedelta(days=11),
        )
        assert day_posts
        # A snapshot of one post (through the rollup triggers): its day only.
        assert (
            await changed(
                "INSERT INTO post_snapshots (post_id, sampled_at, views, forwards, replies,"
                " reactions_total) SELECT id, published_at + interval '90 minutes', 1000000,"
                " 0, 0, 0 FROM posts WHERE id = $1",
                day_posts[0]["id"],
            )
            == 1
        )
        # A check that moves checked_until past an age.
        assert (
            await changed(
                "UPDATE posts SET last_checked_at = published_at + interval '300 hours'"
                " WHERE id = $1",
                day_posts[-1]["id"],
            )
            == 1
        )
        # A deletion, then a new post on another day.
        assert await changed("UPDATE posts SET deleted_at = $2 WHERE id = $1", ids[0], END) >= 1
        assert (
            await changed(
                "INSERT INTO posts (channel_id, message_id, published_at) VALUES ($1, 9999, $2)",
                channel_id,
                START + timedelta(days=20, hours=3),
            )
            == 1
        )
        # Every post of the window moved: every day is read again.
        assert (
            await changed(
                "UPDATE post_snapshots SET views = views + 1 WHERE post_id = ANY($1)", ids
            )
            >= 25
        )


async def test_concurrent_details_read_each_day_once(pool: asyncpg.Pool, channel_id: int) -> None:
    """Eight details at once over overlapping windows (a burst after a restart)."""
    await history(pool, channel_id)
    baselines = CurveBaselines()
    spans = [(START + timedelta(days=d), START + timedelta(days=d + 30, hours=d)) for d in range(8)]

    async def detail(start: datetime, end: datetime) -> Plain:
        async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            return await kept(baselines, conn, channel_id, start, end)

    got = await asyncio.gather(*(detail(start, end) for start, end in spans))
    async with pool.acquire() as conn:
        for (start, end), columns in zip(spans, got, strict=True):
            assert columns == await fresh(conn, channel_id, start, end)
    assert baselines.days_read == 38  # days 0..37 of the windows, each read once


class FailingReads:
    """A connection whose curve reads fail after a moment (the others pass through)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.reading = asyncio.Event()

    async def fetch(self, query: str, *args: object) -> list[Any]:
        if query == posts_repository.POST_CURVES_SQL:
            self.reading.set()  # its days are announced by now
            await asyncio.sleep(0.1)
            raise asyncpg.exceptions.QueryCanceledError("canceling statement")
        return await self._conn.fetch(query, *args)


async def test_a_failed_read_is_made_again_by_those_waiting_for_it(
    pool: asyncpg.Pool, channel_id: int
) -> None:
    await history(pool, channel_id)
    baselines = CurveBaselines()
    start, end = START, START + timedelta(days=30)
    async with pool.acquire() as failing, pool.acquire() as conn:
        reads = FailingReads(failing)

        async def first() -> None:
            await baselines.columns(reads, channel_id, start, end)  # type: ignore[arg-type]

        async def second() -> Plain:
            await reads.reading.wait()  # it waits for the first's read, which fails
            return await kept(baselines, conn, channel_id, start, end)

        failed, got = await asyncio.gather(first(), second(), return_exceptions=True)
        assert isinstance(failed, asyncpg.exceptions.QueryCanceledError)
        assert got == await fresh(conn, channel_id, start, end)
    assert baselines.days_read == 30  # the failed read is not counted


async def test_memory_is_bounded_by_posts(pool: asyncpg.Pool, channel_id: int) -> None:
    await history(pool, channel_id)
    baselines = CurveBaselines(max_posts=30)
    async with pool.acquire() as conn:
        for start, end in windows(10):
            got = await kept(baselines, conn, channel_id, start, end)
            assert got == await fresh(conn, channel_id, start, end)
            assert baselines.posts <= 30


async def test_ratios_past_64_bits_are_kept_exactly(pool: asyncpg.Pool, channel_id: int) -> None:
    """A huge counter interpolated over a gap of months: numerators past 2**63."""
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO channels (id, title) VALUES ($1, 'Huge')", channel_id)
        for message_id in range(1, 8):
            published = START + timedelta(hours=message_id)
            post_id = await conn.fetchval(
                "INSERT INTO posts (channel_id, message_id, published_at) VALUES ($1, $2, $3)"
                " RETURNING id",
                channel_id,
                message_id,
                published,
            )
            await conn.executemany(
                "INSERT INTO post_snapshots (post_id, sampled_at, views, forwards, replies,"
                " reactions_total) VALUES ($1, $2, $3, 0, 0, 0)",
                [
                    (post_id, published + timedelta(minutes=30), 10**15 + message_id),
                    (post_id, published + timedelta(days=150), 3 * 10**15 + message_id),
                ],
            )
        baselines = CurveBaselines()
        start, end = START, START + timedelta(days=1)
        got = await baselines.columns(conn, channel_id, start, end)
        assert plain(got) == await fresh(conn, channel_id, start, end)
        assert max(n for n, _ in got[0].values) >= 2**63
        points = curves.medians(got)
        want = curves.medians(
            curves.curve_views(await posts_repository.post_curves(conn, channel_id, start, end))
        )
        assert [p.exact for p in points] == [p.exact for p in want]
        assert points[0].exact is not None


async def test_post_detail_follows_a_committed_refresh(
    stub: analytics_pb2_grpc.AnalyticsServiceAsyncStub,
    pool: asyncpg.Pool,
    channel_id: int,
    redis_client: redis.Redis,
    prefix: str,
    hub: EventHub,
    cache: ResponseCache,
) -> None:
    """The median curve served from kept values moves with the next ingest event (X is
    old enough for its detail to be cached as well, until the ingest worker drops it)."""
    await seed(pool, channel_id)
    await asyncio.wait_for(hub.ready.wait(), 10)  # values are kept only while it listens
    request = posts_pb2.GetPostRequest(channel_id=channel_id, message_id=X)
    median = {
        p.age_seconds // 3600: p.views.value
        for p in (await stub.GetPost(request)).channel_median_curve
    }
    assert median[24] == 300
    # q3 (the median at 24 h, 300 views) is refreshed: 300 -> 450 at +24 h.
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE post_snapshots SET views = 450 FROM posts WHERE posts.id = post_id"
            " AND posts.channel_id = $1 AND posts.published_at = $2"
            " AND sampled_at = $2 + interval '24 hours'",
            channel_id,
            t(3),
        )
    await cache.invalidate(channel_id)  # what the ingest worker does on the event
    await publish_and_hear(redis_client, prefix, hub, channel_id, t(14))
    median = {
        p.age_seconds // 3600: p.views.value
        for p in (await stub.GetPost(request)).channel_median_curve
    }
    # q1..q5 at 24 h: 100, 200, 450, 400, 500 -> 400.
    assert median[24] == 400
