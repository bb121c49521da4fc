"""SQL of the collector: free functions whose first argument is a connection.

Times passed in come from the collector's ``Clock`` (simulated time in a demo); only
leases use the database's own ``now()``, because they guard against real crashes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from services.collector.domain import (
    EARLY_FRACTION,
    MAX_EARLY,
    BroadcastStats,
    ChannelConflict,
    ChannelInfo,
    PostData,
    next_refresh_after_sample,
)

UpsertMethod = Literal["unnest", "copy"]
# A connection of its own or one borrowed from a pool; both speak the same API.
Conn: TypeAlias = asyncpg.Connection | PoolConnectionProxy


@dataclass(frozen=True)
class ChannelRow:
    """A tracked channel as stored."""

    channel_id: int
    username: str | None
    title: str
    time_zone: str
    tracked_since: datetime
    paused: bool


@dataclass(frozen=True)
class CollectionStatus:
    """Collection state of one channel plus how many posts it has."""

    channel_id: int
    backfill_state: str
    backfill_cursor: int | None
    history_total: int | None
    last_refresh_at: datetime | None
    last_subscribers_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    next_run_at: datetime
    paused: bool
    posts_collected: int
    last_stats_at: datetime | None = None


_CHANNEL_COLUMNS = "id AS channel_id, username, title, time_zone, tracked_since, paused"


async def upsert_channel(
    conn: Conn, info: ChannelInfo, time_zone: str | None, now: datetime
) -> tuple[ChannelRow, bool]:
    """Track ``info`` (or refresh and resume it); returns the row and whether it is new.

    Two trackers of one new channel at once (two collector replicas, two admins adding it)
    both insert: the second waits for the first, and PostgreSQL may then report the clash
    on the username's unique index instead of taking the ``ON CONFLICT (id)`` path. So a
    username clash with the same channel is retried once (inside a savepoint, so that a
    caller's transaction survives the failed attempt); only another channel holding the
    username is a conflict."""
    row = None
    for attempt in range(2):
        try:
            async with conn.transaction():
                row = await conn.fetchrow(
                    f"""INSERT INTO channels AS c
                            (id, username, title, time_zone, tracked_since, updated_at)
                        VALUES ($1, $2, $3, coalesce($4, 'UTC'), $5, $5)
                        ON CONFLICT (id) DO UPDATE SET
                            username = EXCLUDED.username, title = EXCLUDED.title,
                            time_zone = coalesce($4, c.time_zone), paused = false,
                            updated_at = $5
                        RETURNING {_CHANNEL_COLUMNS}, (xmax = 0) AS created""",
                    info.channel_id,
                    info.username,
                    info.title,
                    time_zone,
                    now,
                )
            break
        except asyncpg.UniqueViolationError as exc:
            holder = await conn.fetchval(
                "SELECT id FROM channels WHERE lower(username) = lower($1)", info.username
            )
            if holder != info.channel_id or attempt > 0:
                raise ChannelConflict(
                    f"another tracked channel already uses the username @{info.username}"
                ) from exc
    assert row is not None
    await conn.execute(
        """INSERT INTO collection_state (channel_id, next_run_at) VALUES ($1, $2)
           ON CONFLICT (channel_id) DO UPDATE SET next_run_at = least(
               collection_state.next_run_at, EXCLUDED.next_run_at)""",
        info.channel_id,
        now,
    )
    created = bool(row["created"])
    return ChannelRow(**{k: v for k, v in row.items() if k != "created"}), created


async def list_channels(conn: Conn, after_id: int, limit: int) -> list[ChannelRow]:
    """Tracked channels with id > ``after_id``, ordered by id."""
    rows = await conn.fetch(
        f"""SELECT {_CHANNEL_COLUMNS} FROM channels c
            WHERE id > $1 AND EXISTS (SELECT 1 FROM collection_state s WHERE s.channel_id = c.id)
            ORDER BY id LIMIT $2""",
        after_id,
        limit,
    )
    return [ChannelRow(**dict(r)) for r in rows]


async def collection_status(
    conn: Conn, channel_ids: Sequence[int] | None
) -> list[CollectionStatus]:
    """Status of the given channels (every tracked channel when None), ordered by id."""
    rows = await conn.fetch(
        """SELECT s.channel_id, s.backfill_state, s.backfill_cursor, s.history_total,
                  s.last_refresh_at, s.last_subscribers_at, s.last_error, s.last_error_at,
                  s.next_run_at, c.paused, s.last_stats_at,
                  (SELECT count(*) FROM posts p WHERE p.channel_id = s.channel_id)
                      AS posts_collected
           FROM collection_state s JOIN channels c ON c.id = s.channel_id
           WHERE $1::bigint[] IS NULL OR s.channel_id = ANY($1::bigint[])
           ORDER BY s.channel_id""",
        list(channel_ids) if channel_ids is not None else None,
    )
    return [CollectionStatus(**dict(r)) for r in rows]


def _post_records(
    channel_id: int, posts: Sequence[PostData], now: datetime
) -> list[tuple[object, ...]]:
    return [
        (
            channel_id,
            p.message_id,
            p.published_at,
            p.edited_at,
            p.media_type,
            p.text_preview[:500],
            p.grouped_id,
            now,
            next_refresh_after_sample(p.published_at, now),
        )
        for p in posts
    ]


_POST_COLUMNS = (
    "channel_id, message_id, published_at, edited_at, media_type, text_preview, grouped_id, "
    "first_seen_at, next_refresh_at"
)
_MERGE = f"""
    INSERT INTO posts AS p ({_POST_COLUMNS}, last_checked_at)
    SELECT {_POST_COLUMNS}, first_seen_at FROM {{source}}
    ON CONFLICT (channel_id, message_id) DO UPDATE SET
        edited_at = coalesce(EXCLUDED.edited_at, p.edited_at),
        text_preview = CASE WHEN EXCLUDED.edited_at IS DISTINCT FROM p.edited_at
                            AND EXCLUDED.edited_at IS NOT NULL
                       THEN EXCLUDED.text_preview ELSE p.text_preview END,
        media_type = EXCLUDED.media_type,
        grouped_id = EXCLUDED.grouped_id,
        last_checked_at = EXCLUDED.first_seen_at,
        next_refresh_at = CASE WHEN p.deleted_at IS NULL THEN EXCLUDED.next_refresh_at END
    RETURNING p.id, p.message_id"""
_UNNEST = """unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::timestamptz[], $5::text[],
                    $6::text[], $7::bigint[], $8::timestamptz[], $9::timestamptz[])
             AS s(channel_id, message_id, published_at, edited_at, media_type, text_preview,
                  grouped_id, first_seen_at, next_refresh_at)"""
_STAGE = "collector_posts_stage"


async def upsert_posts(
    conn: Conn,
    channel_id: int,
    posts: Sequence[PostData],
    now: datetime,
    *,
    method: UpsertMethod = "unnest",
) -> dict[int, int]:
    """Insert or update ``posts`` (deduplicated by the caller); returns message id → post id.

    ``unnest`` sends the batch as arrays in one INSERT … ON CONFLICT; ``copy`` COPYs it
    into a temporary staging table and merges from there. Both give the same rows;
    ``bench/ingest.py`` measures which is faster. Run inside a transaction.
    """
    if not posts:
        return {}
    records = _post_records(channel_id, posts, now)
    if method == "unnest":
        columns = list(zip(*records, strict=True))
        rows = await conn.fetch(_MERGE.format(source=f"{_UNNEST}"), *map(list, columns))
    else:
        await conn.execute(
            f"""CREATE TEMP TABLE IF NOT EXISTS {_STAGE} (
                    channel_id bigint, message_id bigint, published_at timestamptz,
                    edited_at timestamptz, media_type text, text_preview text,
                    grouped_id bigint, first_seen_at timestamptz, next_refresh_at timestamptz
                ) ON COMMIT DELETE ROWS"""
        )
        await conn.copy_records_to_table(_STAGE, records=records)
        rows = await conn.fetch(_MERGE.format(source=_STAGE))
        await conn.execute(f"TRUNCATE {_STAGE}")
    return {int(r["message_id"]): int(r["id"]) for r in rows}


async def insert_changed_snapshots(
    conn: Conn, post_ids: dict[int, int], posts: Sequence[PostData], now: datetime
) -> int:
    """Write a snapshot of each post whose counters differ from its latest one; returns
    how many rows were written."""
    if not posts:
        return 0
    status = await conn.execute(
        """INSERT INTO post_snapshots
               (post_id, sampled_at, views, forwards, replies, reactions_total, reactions)
           SELECT s.post_id, $1, s.views, s.forwards, s.replies, s.total, s.reactions::jsonb
           FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[],
                       $7::text[]) AS s(post_id, views, forwards, replies, total, reactions)
           LEFT JOIN LATERAL (
               SELECT l.views, l.forwards, l.replies, l.reactions FROM post_snapshots l
               WHERE l.post_id = s.post_id ORDER BY l.sampled_at DESC LIMIT 1
           ) last ON true
           WHERE last.views IS NULL
              OR (last.views, last.forwards, last.replies, last.reactions)
                 IS DISTINCT FROM (s.views, s.forwards, s.replies, s.reactions::jsonb)
           ON CONFLICT (post_id, sampled_at) DO NOTHING""",
        now,
        [post_ids[p.message_id] for p in posts],
        [p.views for p in posts],
        [p.forwards for p in posts],
        [p.replies for p in posts],
        [p.reactions_total for p in posts],
        [json.dumps(p.reactions, sort_keys=True, ensure_ascii=False) for p in posts],
    )
    return int(status.split()[-1])


async def mark_deleted(
    conn: Conn, channel_id: int, message_ids: Sequence[int], now: datetime
) -> int:
    """Record that the source said these messages are gone; returns newly deleted count."""
    if not message_ids:
        return 0
    status = await conn.execute(
        """UPDATE posts SET deleted_at = $3, next_refresh_at = NULL, last_checked_at = $3
           WHERE channel_id = $1 AND message_id = ANY($2::bigint[]) AND deleted_at IS NULL""",
        channel_id,
        list(message_ids),
        now,
    )
    return int(status.split()[-1])


async def due_posts(conn: Conn, channel_id: int, now: datetime, limit: int) -> list[int]:
    """Message ids of live posts due for a refresh, most overdue first; empty unless at
    least one is due now. The batch is filled with posts due within their early
    window (``EARLY_FRACTION`` of their due age, at most ``MAX_EARLY``), which saves
    the calls they would each need a little later."""
    rows = await conn.fetch(
        """SELECT message_id, next_refresh_at <= $2 AS due FROM posts
           WHERE channel_id = $1 AND deleted_at IS NULL AND next_refresh_at <= $2 + $4
             AND next_refresh_at - least((next_refresh_at - published_at) * $5::float8, $4)
                 <= $2
           ORDER BY next_refresh_at, message_id LIMIT $3""",
        channel_id,
        now,
        limit,
        MAX_EARLY,
        EARLY_FRACTION,
    )
    if not rows or not rows[0]["due"]:
        return []
    return [int(r["message_id"]) for r in rows]


async def next_post_due(conn: Conn, channel_id: int) -> datetime | None:
    """The earliest next_refresh_at of the channel's live posts."""
    value: datetime | None = await conn.fetchval(
        """SELECT min(next_refresh_at) FROM posts
           WHERE channel_id = $1 AND deleted_at IS NULL AND next_refresh_at IS NOT NULL""",
        channel_id,
    )
    return value


async def newest_message_id(conn: Conn, channel_id: int) -> int:
    """The highest stored message id of a channel, 0 if none."""
    value = await conn.fetchval(
        "SELECT coalesce(max(message_id), 0) FROM posts WHERE channel_id = $1", channel_id
    )
    return int(value)


async def insert_subscribers_if_changed(
    conn: Conn, channel_id: int, subscribers: int, now: datetime
) -> bool:
    """Write a channel snapshot unless the latest one has the same count."""
    status = await conn.execute(
        """INSERT INTO channel_snapshots (channel_id, sampled_at, subscribers)
           SELECT $1, $2, $3
           WHERE $3 IS DISTINCT FROM (
               SELECT subscribers FROM channel_snapshots WHERE channel_id = $1
               ORDER BY sampled_at DESC LIMIT 1)
           ON CONFLICT (channel_id, sampled_at) DO NOTHING""",
        channel_id,
        now,
        subscribers,
    )
    return status.endswith(" 1")


async def collection_state(conn: Conn, channel_id: int) -> CollectionStatus:
    """The state of one tracked channel; raises LookupError when it is not tracked."""
    found = await collection_status(conn, [channel_id])
    if not found:
        raise LookupError(channel_id)
    return found[0]


async def save_backfill_progress(
    conn: Conn, channel_id: int, cursor: int | None, total: int, done: bool
) -> None:
    """Store the backfill cursor (in the transaction of the page's rows)."""
    await conn.execute(
        """UPDATE collection_state SET backfill_cursor = coalesce($2, backfill_cursor),
               history_total = $3, backfill_state = CASE WHEN $4 THEN 'done' ELSE 'running' END
           WHERE channel_id = $1""",
        channel_id,
        cursor,
        total,
        done,
    )


async def touch_refresh(conn: Conn, channel_id: int, now: datetime) -> None:
    """Record a completed counter refresh."""
    await conn.execute(
        "UPDATE collection_state SET last_refresh_at = $2 WHERE channel_id = $1", channel_id, now
    )


async def touch_subscribers(conn: Conn, channel_id: int, now: datetime) -> None:
    """Record a completed subscriber sample."""
    await conn.execute(
        "UPDATE collection_state SET last_subscribers_at = $2 WHERE channel_id = $1",
        channel_id,
        now,
    )


async def set_paused(
    conn: Conn, channel_id: int, paused: bool, reason: str, now: datetime
) -> ChannelRow | None:
    """Pause or resume a tracked channel; None when it is not tracked. A resumed channel
    is due at once."""
    row = await conn.fetchrow(
        """UPDATE channels c SET paused = $2, updated_at = $3
           FROM collection_state s WHERE c.id = $1 AND s.channel_id = c.id
           RETURNING c.id AS channel_id, c.username, c.title, c.time_zone, c.tracked_since,
                     c.paused""",
        channel_id,
        paused,
        now,
    )
    if row is None:
        return None
    await conn.execute(
        """UPDATE collection_state SET paused_reason = CASE WHEN $2 THEN nullif($3, '') END,
               next_run_at = CASE WHEN $2 THEN next_run_at ELSE least(next_run_at, $4) END
           WHERE channel_id = $1""",
        channel_id,
        paused,
        reason,
        now,
    )
    return ChannelRow(**dict(row))


async def insert_broadcast_stats(
    conn: Conn, channel_id: int, stats: BroadcastStats, now: datetime
) -> bool:
    """Keep one collection of native statistics as history; False if one is already
    stored at ``now`` (a re-run)."""
    status = await conn.execute(
        """INSERT INTO broadcast_stats (channel_id, collected_at, period, payload)
           VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT (channel_id, collected_at) DO NOTHING""",
        channel_id,
        now,
        stats.period,
        stats.payload,  # the pool's jsonb codec encodes it (a str would be stored as a string)
    )
    return status.endswith(" 1")


async def touch_stats(conn: Conn, channel_id: int, now: datetime) -> None:
    """Record that native statistics were considered at ``now``."""
    await conn.execute(
        "UPDATE collection_state SET last_stats_at = $2 WHERE channel_id = $1", channel_id, now
    )
