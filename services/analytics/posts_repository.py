"""SQL of the post metrics: free functions whose first argument is a connection.

Every query reads the channel's live posts of one publication range through
``posts_channel_published_idx``. The period queries (``POSTS_SQL``) then read each post's
``stats_*`` columns (migrations/0010: its newest sample and the samples on both sides of
each reach horizon, kept by triggers), probing the ``post_snapshots`` primary key
``(post_id, sampled_at)`` only for ``latest(p, ·, T)`` of a post sampled after T. The
cost is O(posts in the range), never O(snapshots stored).
``tests/integration/analytics`` checks the plans.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from services.analytics.domain import PostCounters, PostRecord, PostViews, ViewSample
from services.analytics.repository import Connection

# Live posts of channel $1 published in [$2, $3), with latest(p, ·, $4) and the samples
# on both sides of each age in $5, distinct and in time order (a post without samples has
# NULL columns). The ages must be among ROLLUP_AGES: they come from the posts' stats_*
# rollup (migrations/0010), as does latest(p, ·, $4) unless the post has a sample after
# $4 — then one probe backwards.
# Reactions by emoji are left out: no reader of many posts shows them (only a single
# post's read does, POST_SAMPLES_SQL), and decoding a jsonb per row was a tenth of a
# big channel's overview.
POSTS_SQL = """
SELECT p.id, p.message_id, p.published_at, p.media_type, p.text_preview, p.last_checked_at,
       CASE WHEN p.stats_latest_at <= $4 THEN p.stats_views ELSE l.views END AS views,
       CASE WHEN p.stats_latest_at <= $4 THEN p.stats_forwards ELSE l.forwards END AS forwards,
       CASE WHEN p.stats_latest_at <= $4 THEN p.stats_replies ELSE l.replies END AS replies,
       CASE WHEN p.stats_latest_at <= $4 THEN p.stats_reactions_total ELSE l.reactions_total END
           AS reactions_total,
       CASE WHEN p.stats_latest_at <= $4 THEN p.stats_latest_at ELSE l.sampled_at END AS sampled_at,
       h.near_at, h.near_views
FROM posts AS p
LEFT JOIN LATERAL (
    SELECT ps.views, ps.forwards, ps.replies, ps.reactions_total, ps.sampled_at
    FROM post_snapshots AS ps
    WHERE ps.post_id = p.id AND ps.sampled_at <= $4 AND p.stats_latest_at > $4
    ORDER BY ps.sampled_at DESC
    LIMIT 1
) AS l ON true
LEFT JOIN LATERAL (
    SELECT array_agg(d.at ORDER BY d.at) AS near_at, array_agg(d.views ORDER BY d.at) AS near_views
    FROM (
        SELECT DISTINCT n.at, n.views
        FROM (VALUES
            (interval '12 hours', p.stats_before_12h_at, p.stats_before_12h_views),
            (interval '12 hours', p.stats_after_12h_at, p.stats_after_12h_views),
            (interval '24 hours', p.stats_before_24h_at, p.stats_before_24h_views),
            (interval '24 hours', p.stats_after_24h_at, p.stats_after_24h_views),
            (interval '48 hours', p.stats_before_48h_at, p.stats_before_48h_views),
            (interval '48 hours', p.stats_after_48h_at, p.stats_after_48h_views)
        ) AS n (age, at, views)
        WHERE n.at IS NOT NULL AND n.age = ANY ($5::interval[])
    ) AS d
) AS h ON true
WHERE p.channel_id = $1
  AND p.published_at >= $2
  AND p.published_at < $3
  AND p.deleted_at IS NULL
ORDER BY p.published_at, p.id
"""

# The ages the posts' rollup keeps the samples around (METRICS.md's reach horizons).
ROLLUP_AGES = frozenset((timedelta(hours=12), timedelta(hours=24), timedelta(hours=48)))

# Each live post of channel $1 published in [$2, $3) with, of its samples from publication
# on, only those views(p, a) reads for the ages of curves.CURVE_AGES: the last at or before
# published_at + a and the first at or after it, kept on the posts row by the triggers of
# migrations/0012 (curve_*; NULL for a post without samples). No snapshot is read.
POST_CURVES_SQL = """
SELECT p.published_at, p.last_checked_at, p.curve_sampled_at, p.curve_views
FROM posts AS p
WHERE p.channel_id = $1
  AND p.published_at >= $2
  AND p.published_at < $3
  AND p.deleted_at IS NULL
ORDER BY p.published_at, p.id
"""

# Per UTC day of publication (days since 1970-01-01) of channel $1's live posts in
# [$2, $3): a digest of the rows' ids and versions. Any write to a post row (the rollup
# triggers on every snapshot, a check, a deletion) gives it a new xmin, so an equal
# digest means the very same rows (curve_baselines keeps a day's values under it).
CURVE_DAYS_SQL = """
SELECT (p.published_at AT TIME ZONE 'UTC')::date - date '1970-01-01' AS day,
       md5(string_agg(p.id::text || '/' || p.xmin::text, ',' ORDER BY p.id)) AS digest
FROM posts AS p
WHERE p.channel_id = $1
  AND p.published_at >= $2
  AND p.published_at < $3
  AND p.deleted_at IS NULL
GROUP BY 1
"""

# One live post by message id.
POST_SQL = """
SELECT p.id, p.message_id, p.published_at, p.media_type, p.text_preview, p.last_checked_at
FROM posts AS p
WHERE p.channel_id = $1 AND p.message_id = $2 AND p.deleted_at IS NULL
"""

# Every sample of one post, oldest first.
POST_SAMPLES_SQL = """
SELECT ps.sampled_at, ps.views, ps.forwards, ps.replies, ps.reactions_total, ps.reactions
FROM post_snapshots AS ps
WHERE ps.post_id = $1
ORDER BY ps.sampled_at
"""

CHANNEL_ZONE_SQL = "SELECT time_zone FROM channels WHERE id = $1"


def _reactions(raw: object) -> dict[str, int]:
    document = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(document, dict):
        return {}
    return {str(emoji): int(count) for emoji, count in document.items()}


def _counters(row: Any) -> PostCounters | None:
    if row["sampled_at"] is None:
        return None
    return PostCounters(
        views=row["views"],
        forwards=row["forwards"],
        replies=row["replies"],
        reactions_total=row["reactions_total"],
        sampled_at=row["sampled_at"],
    )


async def posts_in_range(
    conn: Connection,
    channel_id: int,
    start: datetime,
    end: datetime,
    *,
    latest_at: datetime,
    ages: Sequence[timedelta],
) -> list[PostRecord]:
    """The live posts of the channel published in ``[start, end)``, by publication time,
    each with ``latest(p, ·, latest_at)`` and the samples ``views(p, a)`` needs for each
    of ``ages`` (enough for ``reach.views_at_age`` at those ages, not a full curve)."""
    rows = await conn.fetch(POSTS_SQL, channel_id, start, end, latest_at, list(ages))
    return [record_from_row(row) for row in rows]


def record_from_row(row: Any) -> PostRecord:
    """A PostRecord from a row of ``POSTS_SQL`` (unpacked by position: a big channel's
    overview makes thousands of these, and a lookup by name costs a dictionary probe)."""
    (
        post_id,
        message_id,
        published_at,
        media_type,
        text_preview,
        checked_until,
        views,
        forwards,
        replies,
        reactions_total,
        sampled_at,
        near_at,
        near_views,
    ) = row
    return PostRecord(
        post_id,
        message_id,
        published_at,
        media_type,
        text_preview,
        None
        if sampled_at is None
        else PostCounters(views, forwards, replies, reactions_total, sampled_at),
        PostViews(
            published_at,
            () if near_at is None else tuple(map(ViewSample, near_at, near_views)),
            checked_until,
        ),
        {},
    )


async def post_curves(
    conn: Connection, channel_id: int, start: datetime, end: datetime
) -> list[PostViews]:
    """Each live post of the channel published in ``[start, end)`` with the samples
    ``views(p, a)`` needs at each age of ``curves.CURVE_AGES`` (enough for
    ``reach.views_at_ages`` at those ages, not a full curve)."""
    rows = await conn.fetch(POST_CURVES_SQL, channel_id, start, end)
    # Kept distinct and in order by the rollup.
    return [
        PostViews(
            published_at=published_at,
            samples=() if moments is None else tuple(map(ViewSample, moments, views)),
            checked_until=checked_until,
        )
        for published_at, checked_until, moments, views in rows
    ]


async def post_days(
    conn: Connection, channel_id: int, start: datetime, end: datetime
) -> dict[int, str]:
    """``CURVE_DAYS_SQL``: each UTC day (days since 1970-01-01) with live posts
    published in ``[start, end)`` and the digest of its posts' row versions."""
    rows = await conn.fetch(CURVE_DAYS_SQL, channel_id, start, end)
    return {day: digest for day, digest in rows}


async def get_post(conn: Connection, channel_id: int, message_id: int) -> PostRecord | None:
    """The live post ``message_id`` with every sample (its full view curve) and its
    latest counters and reactions; None when there is no such live post."""
    row = await conn.fetchrow(POST_SQL, channel_id, message_id)
    if row is None:
        return None
    samples = await conn.fetch(POST_SAMPLES_SQL, row["id"])
    last: asyncpg.Record | None = samples[-1] if samples else None
    return PostRecord(
        post_id=row["id"],
        message_id=row["message_id"],
        published_at=row["published_at"],
        media_type=row["media_type"],
        text_preview=row["text_preview"],
        latest=None if last is None else _counters(last),
        views=PostViews(
            published_at=row["published_at"],
            samples=tuple(ViewSample(s["sampled_at"], s["views"]) for s in samples),
            checked_until=row["last_checked_at"],
        ),
        reactions={} if last is None else _reactions(last["reactions"]),
    )


async def channel_time_zone(conn: Connection, channel_id: int) -> str | None:
    """The IANA time zone of the channel; None when it is not tracked."""
    zone: str | None = await conn.fetchval(CHANNEL_ZONE_SQL, channel_id)
    return zone
