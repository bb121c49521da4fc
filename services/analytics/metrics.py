"""The overview's metrics, each implemented once, as ../shared/METRICS.md defines it.

The two time-indexed inputs of METRICS.md are read from PostgreSQL by ``repository``:
``subscribers(t)`` (``repository.subscribers_at``) and ``latest(p, x, T)``
(``posts_repository.posts_in_range``). The functions here turn those inputs into
metrics; they do no I/O, so each is tested on a hand-computed dataset.

Every division is a single ``int / int`` so the result is the correctly rounded double of
the exact quotient, whatever the order of the inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from services.analytics.domain import (
    Metric,
    Period,
    PeriodStats,
    PostCounters,
    UnavailableReason,
)


def subscribers(sample: int | None) -> Metric:
    """``subscribers(t)``: ``participants_count`` of the channel, the last sample at or
    before ``t`` (a step function); undefined before the first sample.

    ``sample`` is that last sample, or None when the channel has none at or before ``t``.
    """
    if sample is None:
        return Metric.unavailable(UnavailableReason.NO_SAMPLES)
    return Metric.of(sample)


def subscriber_growth(start: Metric, end: Metric) -> Metric:
    """Subscriber growth: ``subscribers(end) - subscribers(start)``.

    Undefined (NO_SAMPLES) when either end of the period has no sample.
    """
    if start.value is None or end.value is None:
        return Metric.unavailable(UnavailableReason.NO_SAMPLES)
    return Metric.of(int(end.value) - int(start.value))


def subscriber_growth_percent(start: Metric, end: Metric) -> Metric:
    """Subscriber growth in percent:
    ``(subscribers(end) - subscribers(start)) / subscribers(start) * 100``.

    Undefined (NO_SAMPLES) when either end has no sample, and (ZERO_DENOMINATOR) when the
    channel had no subscribers at the start.
    """
    if start.value is None or end.value is None:
        return Metric.unavailable(UnavailableReason.NO_SAMPLES)
    base = int(start.value)
    if base == 0:
        return Metric.unavailable(UnavailableReason.ZERO_DENOMINATOR)
    return Metric.of((int(end.value) - base) * 100 / base)


def posts_in_period(latest: Sequence[PostCounters | None]) -> int:
    """Posts published in the period ``[start, end)``, deleted posts excluded.

    ``latest`` has one entry per such post (``posts_repository.posts_in_range`` selects
    them), so the count is its length.
    """
    return len(latest)


def per_post(
    latest: Sequence[PostCounters | None], counter: Callable[[PostCounters], int]
) -> Metric:
    """Views / forwards / reactions / replies per post: ``Σ latest(p, x, end)`` over the
    posts published in the period ÷ their count.

    ``latest`` holds ``latest(p, ·, end)`` of every post published in the period (deleted
    posts excluded) and ``counter`` picks x. A post with no sample at or before ``end``
    has no known value of x: it is left out of both the sum and the count, instead of
    being counted as 0 (a post published minutes before ``end`` and not yet sampled
    would otherwise pull the mean down). Hence:

    - NO_POSTS when no post was published in the period;
    - NO_SAMPLES when posts were published but none has a sample by ``end``.

    For the previous period the caller passes the values at the previous period's own
    end, as Telegram's statistics do.
    """
    if not latest:
        return Metric.unavailable(UnavailableReason.NO_POSTS)
    known = [counter(counters) for counters in latest if counters is not None]
    if not known:
        return Metric.unavailable(UnavailableReason.NO_SAMPLES)
    return Metric.of(sum(known) / len(known))


def posts_with_samples(latest: Sequence[PostCounters | None]) -> int:
    """The posts of the period that ``per_post`` averages over: those with a sample by
    ``end``."""
    return sum(1 for counters in latest if counters is not None)


def views(counters: PostCounters) -> int:
    """Counter x = views, for ``per_post``."""
    return counters.views


def forwards(counters: PostCounters) -> int:
    """Counter x = forwards, for ``per_post``."""
    return counters.forwards


def reactions(counters: PostCounters) -> int:
    """Counter x = reactions (the total over every emoji), for ``per_post``."""
    return counters.reactions_total


def replies(counters: PostCounters) -> int:
    """Counter x = replies, for ``per_post``."""
    return counters.replies


def period_stats(
    period: Period,
    subscribers_start: int | None,
    subscribers_end: int | None,
    latest: Sequence[PostCounters | None],
) -> PeriodStats:
    """Every headline number of ``period`` from its inputs.

    ``subscribers_start`` / ``subscribers_end`` are the samples ``subscribers(start)`` and
    ``subscribers(end)``; ``latest`` is ``latest(p, ·, period.end)`` of each post
    published in the period (None for a post not sampled by then).
    """
    start = subscribers(subscribers_start)
    end = subscribers(subscribers_end)
    return PeriodStats(
        period=period,
        subscribers_start=start,
        subscribers_end=end,
        subscriber_growth=subscriber_growth(start, end),
        subscriber_growth_percent=subscriber_growth_percent(start, end),
        posts=posts_in_period(latest),
        posts_with_samples=posts_with_samples(latest),
        views_per_post=per_post(latest, views),
        forwards_per_post=per_post(latest, forwards),
        reactions_per_post=per_post(latest, reactions),
        replies_per_post=per_post(latest, replies),
    )
