"""The posts' rollup columns (migrations/0010 and 0012) equal what probing post_snapshots gives,
whatever order and batches the snapshots arrive in, and after deletions."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.analytics.curves import CURVE_AGES
from services.analytics.repository import Connection

START = datetime(2025, 3, 1, tzinfo=UTC)
HORIZONS = (12, 24, 48)


def expected(published_at: datetime, rows: list[tuple[datetime, int]]) -> dict[str, Any]:
    """The rollup by its definition, from the stored (sampled_at, views) rows."""
    out: dict[str, Any] = {"stats_latest_at": max((at for at, _ in rows), default=None)}
    out["stats_views"] = dict(rows).get(out["stats_latest_at"])
    for hours in HORIZONS:
        mark = published_at + timedelta(hours=hours)
        before = max((r for r in rows if r[0] <= mark), default=(None, None))
        after = min((r for r in rows if r[0] >= mark), default=(None, None))
        out[f"stats_before_{hours}h_at"], out[f"stats_before_{hours}h_views"] = before
        out[f"stats_after_{hours}h_at"], out[f"stats_after_{hours}h_views"] = after
    return out


async def in_batches(
    conn: Connection,
    post_id: int,
    rows: list[tuple[datetime, int]],
    draw: random.Random,
    most: int,
) -> AsyncIterator[list[tuple[datetime, int]]]:
    """Insert ``rows`` (sampled_at, views) in order, in statements of 1 to ``most`` rows;
    after each, the rows written so far."""
    written: list[tuple[datetime, int]] = []
    while rows:
        batch = rows[: draw.randint(1, most)]
        rows = rows[len(batch) :]
        await conn.executemany(
            "INSERT INTO post_snapshots (post_id, sampled_at, views, forwards, replies,"
            " reactions_total) VALUES ($1, $2, $3, 0, 0, 0)",
            [(post_id, at, views) for at, views in batch],
        )
        written = written + batch
        yield written


async def one_post(conn: Connection, channel_id: int, title: str) -> int:
    """A channel with one post, published at START, without samples."""
    await conn.execute("INSERT INTO channels (id, title) VALUES ($1, $2)", channel_id, title)
    post_id: int = await conn.fetchval(
        "INSERT INTO posts (channel_id, message_id, published_at) VALUES ($1, 1, $2) RETURNING id",
        channel_id,
        START,
    )
    return post_id


async def delete(
    conn: Connection,
    post_id: int,
    gone: list[datetime],
    written: list[tuple[datetime, int]],
) -> list[tuple[datetime, int]]:
    """Delete the post's samples at ``gone`` in one statement; the rows left."""
    await conn.execute(
        "DELETE FROM post_snapshots WHERE post_id = $1 AND sampled_at = ANY($2)", post_id, gone
    )
    return [row for row in written if row[0] not in gone]


async def stored(conn: Connection, post_id: int) -> dict[str, Any]:
    columns = ", ".join(expected(START, []))
    row = await conn.fetchrow(f"SELECT {columns} FROM posts WHERE id = $1", post_id)
    assert row is not None
    return dict(row)


async def test_rollup_follows_inserts_in_any_order_and_deletes(
    pool: asyncpg.Pool, channel_id: int
) -> None:
    shuffle = random.Random(channel_id)
    async with pool.acquire() as conn:
        post_id = await one_post(conn, channel_id, "Rollup")
        assert await stored(conn, post_id) == expected(START, [])
        # Samples every 5 hours for 4 days, one exactly at the 24-hour mark.
        rows = [(START + timedelta(hours=h), 10 * h) for h in range(1, 97, 5)]
        rows.append((START + timedelta(hours=24), 777))
        shuffle.shuffle(rows)
        written: list[tuple[datetime, int]] = []
        async for written in in_batches(conn, post_id, rows, shuffle, 4):
            assert await stored(conn, post_id) == expected(START, written)
        # One multi-row statement (two samples exactly on a horizon).
        extra = [(START + timedelta(hours=h), 5 * h) for h in (12, 48, 200)]
        await conn.execute(
            "INSERT INTO post_snapshots (post_id, sampled_at, views, forwards, replies,"
            " reactions_total) SELECT $1, a, v, 0, 0, 0 FROM unnest($2::timestamptz[],"
            " $3::bigint[]) AS s (a, v)",
            post_id,
            [at for at, _ in extra],
            [views for _, views in extra],
        )
        written += extra
        assert await stored(conn, post_id) == expected(START, written)
        # Deletions: the newest sample and the one at 24 hours.
        gone = [START + timedelta(hours=200), START + timedelta(hours=24)]
        written = await delete(conn, post_id, gone, written)
        assert await stored(conn, post_id) == expected(START, written)
        await conn.execute("DELETE FROM post_snapshots WHERE post_id = $1", post_id)
        assert await stored(conn, post_id) == expected(START, [])


def expected_curve(
    published_at: datetime, rows: list[tuple[datetime, int]]
) -> tuple[list[datetime] | None, list[int] | None]:
    """migrations/0012 by its definition: of the samples from publication on, the last
    at or before and the first at or after published_at + a for each curve age."""
    after = sorted(r for r in rows if r[0] >= published_at)
    kept: set[tuple[datetime, int]] = set()
    for age in CURVE_AGES:
        mark = published_at + age
        before = [r for r in after if r[0] <= mark]
        later = [r for r in after if r[0] >= mark]
        kept.update(before[-1:])
        kept.update(later[:1])
    if not kept:
        return None, None
    ordered = sorted(kept)
    return [at for at, _ in ordered], [views for _, views in ordered]


async def stored_curve(
    conn: Connection, post_id: int
) -> tuple[list[datetime] | None, list[int] | None]:
    row = await conn.fetchrow(
        "SELECT curve_sampled_at, curve_views FROM posts WHERE id = $1", post_id
    )
    assert row is not None
    at, views = row["curve_sampled_at"], row["curve_views"]
    return (None if at is None else list(at)), (None if views is None else list(views))


@pytest.mark.parametrize("order", ["in time order", "shuffled"])
async def test_curve_rollup_follows_inserts_updates_and_deletes(
    pool: asyncpg.Pool, channel_id: int, order: str
) -> None:
    """In time order, as the collector samples, each sample may extend the kept ones;
    shuffled, late samples arrive before earlier ones."""
    draw = random.Random(20251126)
    async with pool.acquire() as conn:
        post_id = await one_post(conn, channel_id, "Curve")
        assert await stored_curve(conn, post_id) == (None, None)
        # Before publication, exactly on ages, between them and long after the last one
        # (168 h), in batches.
        minutes = {-90, 60, 360, 1440, 10_080, *draw.sample(range(1, 30_000), 60)}
        rows = sorted((START + timedelta(minutes=m), 7 * max(m, 0) + m % 5) for m in minutes)
        if order == "shuffled":
            draw.shuffle(rows)
        written: list[tuple[datetime, int]] = []
        async for written in in_batches(conn, post_id, rows, draw, 5):
            assert await stored_curve(conn, post_id) == expected_curve(START, written)
        kept, _ = expected_curve(START, written)
        assert kept is not None
        assert kept[-1] >= START + CURVE_AGES[-1]
        # A sample after the last kept one, which is past every age: nothing moves.
        late = (kept[-1] + timedelta(minutes=1), 1)
        if late[0] not in {at for at, _ in written}:
            await conn.execute(
                "INSERT INTO post_snapshots (post_id, sampled_at, views, forwards, replies,"
                " reactions_total) VALUES ($1, $2, $3, 0, 0, 0)",
                post_id,
                *late,
            )
            written.append(late)
            assert await stored_curve(conn, post_id) == expected_curve(START, written)
        # A kept sample's views corrected in place.
        await conn.execute(
            "UPDATE post_snapshots SET views = views + 1000 WHERE post_id = $1 AND sampled_at = $2",
            post_id,
            kept[3],
        )
        written = [(at, views + 1000 if at == kept[3] else views) for at, views in written]
        assert await stored_curve(conn, post_id) == expected_curve(START, written)
        # Deleting kept samples (the last one past every age among them) brings in the
        # neighbours.
        written = await delete(conn, post_id, [kept[-1], kept[5], kept[1]], written)
        assert await stored_curve(conn, post_id) == expected_curve(START, written)
        await conn.execute("DELETE FROM post_snapshots WHERE post_id = $1", post_id)
        assert await stored_curve(conn, post_id) == (None, None)
