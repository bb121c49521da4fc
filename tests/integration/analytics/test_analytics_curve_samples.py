"""The median curve's query ships only the samples views(p, a) reads at the curve's ages,
kept on the posts row by migrations/0012: views at every age from those equal views from
all of a post's samples."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import asyncpg

from services.analytics import curves, posts_repository
from services.analytics.domain import PostViews, ViewSample
from services.analytics.reach import views_at_ages

START = datetime(2025, 3, 1, tzinfo=UTC)


async def test_curve_query_keeps_every_sample_the_ages_read(
    pool: asyncpg.Pool, channel_id: int
) -> None:
    # A fixed dataset: the share of samples the query keeps depends on the draw
    # (0.33-0.47 over 25 seeds, past 0.5 in a rare one), and this one keeps 0.42.
    draw = random.Random(20250301)
    ages = curves.CURVE_AGES
    full: list[PostViews] = []
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO channels (id, title) VALUES ($1, 'Curves')", channel_id)
        for message_id in range(1, 41):
            published = START + timedelta(hours=7 * message_id)
            checked = published + timedelta(hours=draw.randint(0, 300))
            post_id = await conn.fetchval(
                "INSERT INTO posts (channel_id, message_id, published_at, last_checked_at)"
                " VALUES ($1, $2, $3, $4) RETURNING id",
                channel_id,
                message_id,
                published,
                checked,
            )
            # Some posts without samples, some sampled before publication, some on an
            # age exactly, most on the collector's uneven cadence.
            minutes = sorted(
                {
                    *draw.sample(range(-120, 12_000), draw.choice([0, 1, 3, 20, 40])),
                    *draw.sample([60, 180, 1440, 2880], draw.randint(0, 2)),
                }
            )
            samples = [
                (published + timedelta(minutes=m), 10 * max(m, 0) + draw.randint(0, 9))
                for m in minutes
            ]
            await conn.executemany(
                "INSERT INTO post_snapshots (post_id, sampled_at, views, forwards, replies,"
                " reactions_total) VALUES ($1, $2, $3, 0, 0, 0)",
                [(post_id, at, views) for at, views in samples],
            )
            full.append(
                PostViews(
                    published_at=published,
                    samples=tuple(ViewSample(at, views) for at, views in samples),
                    checked_until=checked,
                )
            )
        shipped = await posts_repository.post_curves(
            conn, channel_id, START, START + timedelta(days=30)
        )
    assert [post.published_at for post in shipped] == [post.published_at for post in full]
    for kept, every in zip(shipped, full, strict=True):
        assert views_at_ages(kept, ages) == views_at_ages(every, ages)
        assert len(kept.samples) <= 2 * len(ages)
    # The query leaves most samples on the server.
    assert sum(len(p.samples) for p in shipped) < sum(len(p.samples) for p in full) / 2


async def test_the_rollup_keeps_the_samples_of_the_curve_ages(pool: asyncpg.Pool) -> None:
    """migrations/0012 names the ages in SQL; they are the ages the service reads."""
    async with pool.acquire() as conn:
        ages = await conn.fetchval("SELECT post_curve_ages()")
    assert tuple(ages) == curves.CURVE_AGES
