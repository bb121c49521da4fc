"""CSV export of a channel's posts, streamed: rows come from a server-side cursor and
leave in chunks, so a channel with 100k posts is never held in memory."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime

from services.analytics import posts_repository, repository
from services.analytics.domain import ChannelNotFound, Metric, Period
from services.analytics.performance import BASELINE_WINDOW, SlidingBaseline
from services.analytics.posts_service import PostSummary, summarize, views24
from services.analytics.reach import REACH_HORIZONS
from services.analytics.service import check_channel_id

CHUNK_BYTES = 64 * 1024
PREFETCH_ROWS = 500
HEADER = (
    "message_id",
    "published_at",
    "media_type",
    "views",
    "forwards",
    "replies",
    "reactions",
    "er_percent",
    "virality",
    "reach_12h",
    "reach_24h",
    "reach_48h",
    "performance_index",
    "rating",
    "text_preview",
)


def _cell(metric: Metric) -> str:
    """A metric's value, or the empty cell for "not enough data" (never 0)."""
    return "" if metric.value is None else repr(metric.value)


def csv_row(summary: PostSummary) -> list[str]:
    """One CSV row of a post."""
    record = summary.record
    return [
        str(record.message_id),
        record.published_at.isoformat(),
        record.media_type,
        _cell(summary.views),
        _cell(summary.forwards),
        _cell(summary.replies),
        _cell(summary.reactions),
        _cell(summary.er),
        _cell(summary.virality),
        _cell(summary.reach_12h),
        _cell(summary.reach_24h),
        _cell(summary.reach_48h),
        _cell(summary.performance_index),
        "" if summary.rating is None else summary.rating.value,
        record.text_preview,
    ]


async def export_posts_csv(
    conn: repository.Connection, channel_id: int, period: Period, *, now: datetime
) -> AsyncIterator[bytes]:
    """The posts published in ``period``, oldest first, as UTF-8 CSV chunks of about
    64 KiB. Columns are those of the posts list; an unavailable metric is an empty cell.
    The performance index slides its 30-day baseline along (``SlidingBaseline``)."""
    check_channel_id(channel_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    baseline = SlidingBaseline()
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        if await repository.get_channel(conn, channel_id) is None:
            raise ChannelNotFound(channel_id)
        cursor = conn.cursor(
            posts_repository.POSTS_SQL,
            channel_id,
            period.start - BASELINE_WINDOW,
            period.end,
            now,
            list(REACH_HORIZONS),
            prefetch=PREFETCH_ROWS,
        )
        async for row in cursor:
            record = posts_repository.record_from_row(row)
            own = views24(record)
            if record.published_at >= period.start:
                writer.writerow(csv_row(summarize(record, baseline.index(own), now)))
            baseline.add(record.published_at, own.views_24h)
            if buffer.tell() >= CHUNK_BYTES:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()
