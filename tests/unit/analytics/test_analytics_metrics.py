"""Each overview metric on a small dataset whose expected numbers are worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime

from services.analytics import metrics
from services.analytics.domain import Metric, Period, PostCounters, UnavailableReason

AT = datetime(2025, 3, 14, 12, tzinfo=UTC)


def counters(views: int, forwards: int, replies: int, reactions: int) -> PostCounters:
    return PostCounters(
        views=views, forwards=forwards, replies=replies, reactions_total=reactions, sampled_at=AT
    )


# latest(p, ·, end) of the four posts published in a period; C had no sample by end.
#        views  forwards  replies  reactions
# A        120         3        2         10
# B         45         0        1          4
# C          -         -        -          -
# D       1000        12        0         31
# sum     1165        15        3         45   over 3 sampled posts
LATEST: list[PostCounters | None] = [
    counters(120, 3, 2, 10),
    counters(45, 0, 1, 4),
    None,
    counters(1000, 12, 0, 31),
]

NO_SAMPLES = Metric.unavailable(UnavailableReason.NO_SAMPLES)
NO_POSTS = Metric.unavailable(UnavailableReason.NO_POSTS)


def test_subscribers_is_the_sample_or_not_enough_data() -> None:
    assert metrics.subscribers(1500) == Metric.of(1500)
    assert metrics.subscribers(0) == Metric.of(0)
    assert metrics.subscribers(None) == NO_SAMPLES


def test_subscriber_growth_absolute_and_percent() -> None:
    # 1500 -> 1440: growth -60; -60 / 1500 * 100 = -4 %.
    start, end = metrics.subscribers(1500), metrics.subscribers(1440)
    assert metrics.subscriber_growth(start, end) == Metric.of(-60)
    assert metrics.subscriber_growth_percent(start, end) == Metric.of(-4.0)
    # 3 -> 4: growth 1; 1 / 3 * 100 = 33.333...%, the double nearest 100/3.
    start, end = metrics.subscribers(3), metrics.subscribers(4)
    assert metrics.subscriber_growth_percent(start, end).value == 100 / 3


def test_subscriber_growth_without_a_sample_at_either_end_is_not_enough_data() -> None:
    known, unknown = metrics.subscribers(10), metrics.subscribers(None)
    for start, end in ((unknown, known), (known, unknown), (unknown, unknown)):
        assert metrics.subscriber_growth(start, end) == NO_SAMPLES
        assert metrics.subscriber_growth_percent(start, end) == NO_SAMPLES


def test_growth_percent_from_zero_subscribers_is_unavailable_not_infinite() -> None:
    # 0 -> 25: growth 25, percent undefined (division by zero).
    start, end = metrics.subscribers(0), metrics.subscribers(25)
    assert metrics.subscriber_growth(start, end) == Metric.of(25)
    assert metrics.subscriber_growth_percent(start, end) == Metric.unavailable(
        UnavailableReason.ZERO_DENOMINATOR
    )


def test_posts_in_period_counts_every_post_and_sampled_ones_separately() -> None:
    assert metrics.posts_in_period(LATEST) == 4
    assert metrics.posts_with_samples(LATEST) == 3


def test_per_post_means_over_sampled_posts() -> None:
    # views 1165 / 3 = 388.333..., forwards 15 / 3 = 5, replies 3 / 3 = 1,
    # reactions 45 / 3 = 15. C (no sample) is in neither the sum nor the count.
    assert metrics.per_post(LATEST, metrics.views).value == 1165 / 3
    assert metrics.per_post(LATEST, metrics.forwards) == Metric.of(5.0)
    assert metrics.per_post(LATEST, metrics.replies) == Metric.of(1.0)
    assert metrics.per_post(LATEST, metrics.reactions) == Metric.of(15.0)


def test_per_post_of_real_zeros_is_zero_not_unavailable() -> None:
    assert metrics.per_post([counters(0, 0, 0, 0)], metrics.views) == Metric.of(0.0)


def test_per_post_without_posts_or_samples_is_not_enough_data() -> None:
    assert metrics.per_post([], metrics.views) == NO_POSTS
    assert metrics.per_post([None, None], metrics.views) == NO_SAMPLES


def test_period_stats_puts_every_metric_together() -> None:
    period = Period(datetime(2025, 3, 8, tzinfo=UTC), datetime(2025, 3, 15, tzinfo=UTC))
    # Subscribers 1200 -> 1300: growth 100, 100 / 1200 * 100 = 8.333...%.
    stats = metrics.period_stats(period, 1200, 1300, LATEST)
    assert stats.period == period
    assert stats.subscribers_start == Metric.of(1200)
    assert stats.subscribers_end == Metric.of(1300)
    assert stats.subscriber_growth == Metric.of(100)
    assert stats.subscriber_growth_percent.value == 25 / 3
    assert (stats.posts, stats.posts_with_samples) == (4, 3)
    assert stats.views_per_post.value == 1165 / 3
    assert stats.forwards_per_post == Metric.of(5.0)
    assert stats.replies_per_post == Metric.of(1.0)
    assert stats.reactions_per_post == Metric.of(15.0)


def test_period_stats_of_a_channel_without_data_is_unavailable_everywhere() -> None:
    period = Period(datetime(2025, 3, 8, tzinfo=UTC), datetime(2025, 3, 15, tzinfo=UTC))
    stats = metrics.period_stats(period, None, None, [])
    assert stats.subscribers_start == stats.subscribers_end == NO_SAMPLES
    assert stats.subscriber_growth == stats.subscriber_growth_percent == NO_SAMPLES
    assert (stats.posts, stats.posts_with_samples) == (0, 0)
    assert stats.views_per_post == stats.forwards_per_post == NO_POSTS
    assert stats.replies_per_post == stats.reactions_per_post == NO_POSTS
