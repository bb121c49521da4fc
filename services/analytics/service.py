"""Use cases of the channel-level read side. Each owns its transaction.

Every use case reads in one read-only REPEATABLE READ transaction, so all the numbers of
one answer see the same committed data even while the collector writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.analytics import metrics, posts_repository, repository
from services.analytics.domain import (
    ChannelNotFound,
    ChannelOverview,
    InvalidChannelId,
    InvalidPeriod,
    Metric,
    Period,
    PeriodEngagement,
    PeriodStats,
    PostCounters,
)
from services.analytics.engagement import ERR_WINDOW, period_engagement
from services.analytics.reach import REACH_HORIZONS

HOURLY_UP_TO = timedelta(days=3)
MAX_HOURLY_PERIOD = timedelta(days=31)


def check_channel_id(channel_id: int) -> None:
    """InvalidChannelId unless ``channel_id`` can be a Telegram channel."""
    if channel_id <= 0:
        raise InvalidChannelId(channel_id)


async def _period_numbers(
    conn: repository.Connection,
    channel_id: int,
    period: Period,
    subscribers_start: int | None,
    subscribers_end: int | None,
) -> tuple[PeriodStats, PeriodEngagement, list[PostCounters | None]]:
    window_start = min(period.start, period.end - ERR_WINDOW)
    records = await posts_repository.posts_in_range(
        conn, channel_id, window_start, period.end, latest_at=period.end, ages=REACH_HORIZONS
    )
    latest = [r.latest for r in records if r.published_at >= period.start]
    stats = metrics.period_stats(period, subscribers_start, subscribers_end, latest)
    return stats, period_engagement(period, subscribers_end, records), latest


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
    non-empty and at most 366 days long (InvalidPeriod).
    """
    check_channel_id(channel_id)
    period = Period.resolve(start, end, now)
    previous = period.previous()
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        channel = await repository.get_channel(conn, channel_id)
        if channel is None:
            raise ChannelNotFound(channel_id)
        subs_prev_start, subs_start, subs_end = await repository.subscribers_at(
            conn, channel_id, (previous.start, period.start, period.end)
        )
        current, current_engagement, latest_current = await _period_numbers(
            conn, channel_id, period, subs_start, subs_end
        )
        prior, prior_engagement, latest_previous = await _period_numbers(
            conn, channel_id, previous, subs_prev_start, subs_start
        )
        freshness = await repository.collection_freshness(conn, channel_id)
    return ChannelOverview(
        channel=channel,
        current=current,
        previous=prior,
        data_as_of=_newest(freshness, latest_current, latest_previous),
        current_engagement=current_engagement,
        previous_engagement=prior_engagement,
    )


@dataclass(frozen=True, slots=True)
class Comparison:
    """Two periods' numbers, each computed at its own end."""

    first: tuple[PeriodStats, PeriodEngagement]
    second: tuple[PeriodStats, PeriodEngagement]


async def compare_periods(
    conn: repository.Connection, channel_id: int, first: Period, second: Period
) -> Comparison:
    """The headline, reach and engagement numbers of two arbitrary periods."""
    check_channel_id(channel_id)
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        if await repository.get_channel(conn, channel_id) is None:
            raise ChannelNotFound(channel_id)
        subs = await repository.subscribers_at(
            conn, channel_id, (first.start, first.end, second.start, second.end)
        )
        a_stats, a_engagement, _ = await _period_numbers(conn, channel_id, first, subs[0], subs[1])
        b_stats, b_engagement, _ = await _period_numbers(conn, channel_id, second, subs[2], subs[3])
    return Comparison(first=(a_stats, a_engagement), second=(b_stats, b_engagement))


def series_moments(period: Period, step: timedelta) -> list[datetime]:
    """``start``, ``start + step``, ... before ``end``, then ``end``."""
    moments: list[datetime] = []
    moment = period.start
    while moment < period.end:
        moments.append(moment)
        moment += step
    moments.append(period.end)
    return moments


def series_step(period: Period, hourly: bool | None) -> timedelta:
    """An hour for periods up to 3 days (or when asked, up to 31 days), else a day."""
    if hourly is None:
        hourly = period.length <= HOURLY_UP_TO
    if hourly and period.length > MAX_HOURLY_PERIOD:
        raise InvalidPeriod(f"an hourly series may span at most {MAX_HOURLY_PERIOD.days} days")
    return timedelta(hours=1) if hourly else timedelta(days=1)


async def subscriber_series(
    conn: repository.Connection, channel_id: int, period: Period, step: timedelta
) -> list[tuple[datetime, Metric]]:
    """``subscribers(t)`` at each of ``series_moments(period, step)``: O(points) probes of
    the ``channel_snapshots`` key."""
    check_channel_id(channel_id)
    moments = series_moments(period, step)
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        if await repository.get_channel(conn, channel_id) is None:
            raise ChannelNotFound(channel_id)
        samples = await repository.subscribers_at(conn, channel_id, moments)
    return [
        (moment, metrics.subscribers(sample))
        for moment, sample in zip(moments, samples, strict=True)
    ]


def _newest(freshness: datetime | None, *latest: list[PostCounters | None]) -> datetime | None:
    """The newest of ``freshness`` and the sample times of the post counters read."""
    moments = [c.sampled_at for group in latest for c in group if c is not None]
    if freshness is not None:
        moments.append(freshness)
    return max(moments, default=None)


@dataclass(frozen=True, slots=True)
class NativeStatsEntry:
    """One stored collection of Telegram's native statistics."""

    collected_at: datetime
    period: str
    payload_json: str


NATIVE_STATS_SQL = """
SELECT bs.collected_at, bs.period, bs.payload::text AS payload
FROM broadcast_stats AS bs
WHERE bs.channel_id = $1 AND bs.collected_at >= $2 AND bs.collected_at < $3
ORDER BY bs.collected_at DESC
LIMIT $4
"""


async def native_stats(
    conn: repository.Connection, channel_id: int, period: Period, limit: int
) -> list[NativeStatsEntry]:
    """The native statistics collected in ``period``, newest first, at most ``limit``."""
    check_channel_id(channel_id)
    if await repository.get_channel(conn, channel_id) is None:
        raise ChannelNotFound(channel_id)
    rows = await conn.fetch(NATIVE_STATS_SQL, channel_id, period.start, period.end, limit)
    return [NativeStatsEntry(row["collected_at"], row["period"], row["payload"]) for row in rows]
