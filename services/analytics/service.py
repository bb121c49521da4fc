"""Use cases of the analytics read side. Each owns its transaction."""

from __future__ import annotations

from datetime import datetime

from services.analytics import metrics, repository
from services.analytics.domain import (
    ChannelNotFound,
    ChannelOverview,
    InvalidChannelId,
    Period,
    PostCounters,
)


async def get_channel_overview(
    conn: repository.Connection,
    channel_id: int,
    start: datetime | None,
    end: datetime | None,
    *,
    now: datetime,
) -> ChannelOverview:
    """The overview of ``channel_id`` for ``[start, end)`` beside the previous equal period.

    ``end`` defaults to ``now`` and ``start`` to ``end`` - 7 days; the period must be
    non-empty and at most 366 days long (InvalidPeriod). Both periods are read in one
    read-only REPEATABLE READ transaction, so they see the same committed data even while
    the collector writes.
    """
    if channel_id <= 0:
        raise InvalidChannelId(channel_id)
    period = Period.resolve(start, end, now)
    previous = period.previous()
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        channel = await repository.get_channel(conn, channel_id)
        if channel is None:
            raise ChannelNotFound(channel_id)
        subs_prev_start, subs_start, subs_end = await repository.subscribers_at(
            conn, channel_id, (previous.start, period.start, period.end)
        )
        latest_current = await repository.latest_post_counters(conn, channel_id, period)
        latest_previous = await repository.latest_post_counters(conn, channel_id, previous)
        freshness = await repository.collection_freshness(conn, channel_id)
    return ChannelOverview(
        channel=channel,
        current=metrics.period_stats(period, subs_start, subs_end, latest_current),
        previous=metrics.period_stats(previous, subs_prev_start, subs_start, latest_previous),
        data_as_of=_newest(freshness, latest_current, latest_previous),
    )


def _newest(freshness: datetime | None, *latest: list[PostCounters | None]) -> datetime | None:
    """The newest of ``freshness`` and the sample times of the post counters read."""
    moments = [c.sampled_at for group in latest for c in group if c is not None]
    if freshness is not None:
        moments.append(freshness)
    return max(moments, default=None)
