"""Engagement metrics (ER, virality, ERR, ERR24), as ../shared/METRICS.md defines them.

Inputs are ``latest(p, x, T)`` (``PostCounters``, None for a post not sampled by T) and
``views(p, 24h)`` (from ``reach.views_at_ages``, an exact ratio). A post whose input is
unknown is left out of a mean, never counted as 0. Every result is one exact division,
rounded once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from services.analytics.domain import (
    Metric,
    Period,
    PeriodEngagement,
    PostCounters,
    PostRecord,
    UnavailableReason,
)
from services.analytics.reach import REACH_HORIZONS, Ratio, channel_reach, exact_sum, views_at_ages

ERR_WINDOW = timedelta(days=30)
DAY = timedelta(hours=24)


def interactions(counters: PostCounters) -> int:
    """forwards + reactions + replies of one post."""
    return counters.forwards + counters.reactions_total + counters.replies


def post_er(counters: PostCounters | None) -> Metric:
    """ER of a post: (forwards + reactions + replies) ÷ views x 100, latest values.

    NO_SAMPLES without a sample; ZERO_DENOMINATOR with 0 views.
    """
    if counters is None:
        return Metric.unavailable(UnavailableReason.NO_SAMPLES)
    if counters.views == 0:
        return Metric.unavailable(UnavailableReason.ZERO_DENOMINATOR)
    return Metric.of(interactions(counters) * 100 / counters.views)


def virality(counters: PostCounters | None) -> Metric:
    """Virality of a post: forwards ÷ views, latest values.

    NO_SAMPLES without a sample; ZERO_DENOMINATOR with 0 views.
    """
    if counters is None:
        return Metric.unavailable(UnavailableReason.NO_SAMPLES)
    if counters.views == 0:
        return Metric.unavailable(UnavailableReason.ZERO_DENOMINATOR)
    return Metric.of(counters.forwards / counters.views)


def channel_er(latest: Sequence[PostCounters | None]) -> Metric:
    """ER of a channel over a period: Σ interactions ÷ Σ views x 100 over the posts
    published in the period (latest values at its end; unsampled posts left out).

    NO_POSTS, NO_SAMPLES, or ZERO_DENOMINATOR when the sampled posts have no views.
    """
    if not latest:
        return Metric.unavailable(UnavailableReason.NO_POSTS)
    known = [counters for counters in latest if counters is not None]
    if not known:
        return Metric.unavailable(UnavailableReason.NO_SAMPLES)
    views = sum(counters.views for counters in known)
    if views == 0:
        return Metric.unavailable(UnavailableReason.ZERO_DENOMINATOR)
    return Metric.of(sum(interactions(counters) for counters in known) * 100 / views)


def _reach_rate(values: Sequence[Ratio | None], subscribers: int | None) -> Metric:
    """mean(values) ÷ subscribers x 100 over the known values."""
    if subscribers is None:
        return Metric.unavailable(UnavailableReason.NO_SAMPLES)
    if not values:
        return Metric.unavailable(UnavailableReason.NO_POSTS)
    known = [value for value in values if value is not None]
    if not known:
        return Metric.unavailable(UnavailableReason.NO_SAMPLES)
    if subscribers == 0:
        return Metric.unavailable(UnavailableReason.ZERO_DENOMINATOR)
    return Metric.of(float(exact_sum(known) * 100 / (len(known) * subscribers)))


def err(latest: Sequence[PostCounters | None], subscribers_end: int | None) -> Metric:
    """ERR (TGStat's definition): over the posts published in ``[end - 30 days, end)``,
    the mean of ``latest(p, views, end)`` ÷ ``subscribers(end)`` x 100.

    ``latest`` holds those posts' counters at ``end``; unsampled posts are left out.
    NO_SAMPLES without a subscriber sample (or no sampled post), NO_POSTS without posts,
    ZERO_DENOMINATOR with 0 subscribers.
    """
    return _reach_rate(
        [None if counters is None else (counters.views, 1) for counters in latest],
        subscribers_end,
    )


def err24(views_24h: Sequence[Ratio | None], subscribers_end: int | None) -> Metric:
    """ERR24: over the posts published in ``[end - 30 days, end - 24 h)``, the mean of
    ``views(p, 24h)`` ÷ ``subscribers(end)`` x 100.

    ``views_24h`` holds ``views(p, 24h)`` of those posts (None where unknown, left out).
    Reasons as for ``err``.
    """
    return _reach_rate(views_24h, subscribers_end)


def period_engagement(
    period: Period, subscribers_end: int | None, records: Sequence[PostRecord]
) -> PeriodEngagement:
    """ERR and ERR24 at the period's end, and the period's ER and reach@12/24/48h.

    ``records`` must hold the channel's live posts published in
    ``[min(start, end - 30 days), end)`` with ``latest(p, ·, end)`` and the samples around
    12, 24 and 48 h of age; ``subscribers_end`` is ``subscribers(end)``.
    """
    in_period = [r for r in records if period.start <= r.published_at < period.end]
    last_30_days = [r for r in records if period.end - ERR_WINDOW <= r.published_at < period.end]
    day_old = [r for r in last_30_days if r.published_at < period.end - DAY]
    twelve, day, two_days = REACH_HORIZONS
    return PeriodEngagement(
        err=err([r.latest for r in last_30_days], subscribers_end),
        err24=err24([views_at_ages(r.views, (DAY,))[0] for r in day_old], subscribers_end),
        er=channel_er([r.latest for r in in_period]),
        reach_12h=channel_reach([r.views for r in in_period], twelve, period.end),
        reach_24h=channel_reach([r.views for r in in_period], day, period.end),
        reach_48h=channel_reach([r.views for r in in_period], two_days, period.end),
    )
