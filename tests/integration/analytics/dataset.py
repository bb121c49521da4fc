"""A hand-computed channel for the post-level tests, inserted with plain SQL.

Channel time zone UTC; the server's clock reads 2025-03-15 00:00.

Subscribers: Mar 1 00:00 1000, Mar 14 00:00 2000.

Posts (views, forwards, replies, reactions per sample; hours after publication):
- q1..q5, published Mar 1..5 at 00:00 (text): at +24 h (100k, 0, 0, 0) and at +48 h
  (200k, 0, 0, 0) for k = 1..5. views(q, 24h) = 100, 200, 300, 400, 500.
- X, message 100, published Mon Mar 10 00:00 (text), last checked at +50 h:
  +10 h (400, 1, 0, 5), +30 h (700, 5, 1, 20), +50 h (800, 8, 2, 30, 👍 20 🔥 10).
  views(X, 12h) = 400 + 300 * 2/20 = 430; views(X, 24h) = 400 + 300 * 14/20 = 610;
  views(X, 48h) = 700 + 100 * 18/20 = 790. Baseline (the 30 days before): q1..q5,
  median 300: performance index 610 / 300 = 61/30 (viral).
  ER (8 + 30 + 2) / 800 * 100 = 5; virality 8 / 800 = 0.01.
- Y, message 200, published Mar 14 20:00 (photo): +1 h (50, 0, 0, 0). 4 h old at Mar 15.
- Z, message 300, published Mar 9 (text), deleted: excluded from everything.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import asyncpg

from services.analytics.repository import Connection

H = timedelta(hours=1)
X, Y, Z = 100, 200, 300


def t(day: int, hour: int = 0, month: int = 3) -> datetime:
    """A moment in 2025, UTC."""
    return datetime(2025, month, day, hour, tzinfo=UTC)


async def insert_post(
    conn: Connection,
    channel_id: int,
    message_id: int,
    published: datetime,
    samples: list[tuple[float, int, int, int, int, dict[str, int]]],
    *,
    media_type: str = "text",
    deleted_at: datetime | None = None,
    last_checked_at: datetime | None = None,
) -> int:
    """Insert a post and its samples (hours after publication, counters, reactions)."""
    post_id: int = await conn.fetchval(
        "INSERT INTO posts (channel_id, message_id, published_at, media_type, deleted_at, "
        "last_checked_at, text_preview) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        channel_id,
        message_id,
        published,
        media_type,
        deleted_at,
        last_checked_at,
        f"post {message_id}",
    )
    await conn.executemany(
        "INSERT INTO post_snapshots (post_id, sampled_at, views, forwards, replies, "
        "reactions_total, reactions) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)",
        [
            (post_id, published + hours * H, v, f, r, total, json.dumps(emoji))
            for hours, v, f, r, total, emoji in samples
        ],
    )
    return post_id


async def seed(pool: asyncpg.Pool, channel_id: int) -> None:
    """Insert the dataset above, committed."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO channels (id, title) VALUES ($1, 'Posts dataset')", channel_id
        )
        await conn.executemany(
            "INSERT INTO channel_snapshots (channel_id, sampled_at, subscribers) "
            "VALUES ($1, $2, $3)",
            [(channel_id, t(1), 1000), (channel_id, t(14), 2000)],
        )
        for k in range(1, 6):
            await insert_post(
                conn,
                channel_id,
                k,
                t(k),
                [(24, 100 * k, 0, 0, 0, {}), (48, 200 * k, 0, 0, 0, {})],
            )
        await insert_post(
            conn,
            channel_id,
            X,
            t(10),
            [
                (10, 400, 1, 0, 5, {"👍": 5}),
                (30, 700, 5, 1, 20, {"👍": 15, "🔥": 5}),
                (50, 800, 8, 2, 30, {"👍": 20, "🔥": 10}),
            ],
            last_checked_at=t(10) + 50 * H,
        )
        await insert_post(
            conn, channel_id, Y, t(14, 20), [(1, 50, 0, 0, 0, {})], media_type="photo"
        )
        await insert_post(conn, channel_id, Z, t(9), [(1, 99_999, 9, 9, 9, {})], deleted_at=t(9, 5))
