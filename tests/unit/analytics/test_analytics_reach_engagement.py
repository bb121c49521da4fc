"""views(p, a), reach, ER, virality, ERR and ERR24 on small datasets worked out by hand."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from services.analytics import engagement, reach
from services.analytics.domain import Metric, PostCounters, PostViews, UnavailableReason, ViewSample

P = datetime(2025, 3, 1, tzinfo=UTC)
H = timedelta(hours=1)


def post(
    published: datetime, *samples: tuple[float, int], checked: float | None = None
) -> PostViews:
    """A post with samples at (hours after publication, views)."""
    return PostViews(
        published_at=published,
        samples=tuple(ViewSample(published + hours * H, views) for hours, views in samples),
        checked_until=None if checked is None else published + checked * H,
    )


# Samples: +1 h 100, +10 h 400, +30 h 700, +50 h 800.
A = post(P, (1, 100), (10, 400), (30, 700), (50, 800))


def test_views_interpolate_linearly_between_samples() -> None:
    # 12 h: 400 + (700 - 400) * (12 - 10) / (30 - 10) = 430
    assert reach.views_at_age(A, 12 * H) == 430
    # 24 h: 400 + 300 * 14 / 20 = 610
    assert reach.views_at_age(A, 24 * H) == 610
    # 48 h: 700 + 100 * 18 / 20 = 790
    assert reach.views_at_age(A, 48 * H) == 790
    # 30 min: between the implicit (0, 0) and (1 h, 100): 50
    assert reach.views_at_age(A, H / 2) == 50
    # Exactly at a sample: its value.
    assert reach.views_at_age(A, 10 * H) == 400
    assert reach.views_at_age(A, timedelta(0)) == 0


def test_interpolation_is_exact() -> None:
    # +1 h 1, +4 h 2: at 2 h, 1 + 1 * 1/3 = 4/3 exactly.
    assert reach.views_at_age(post(P, (1, 1), (4, 2)), 2 * H) == Fraction(4, 3)


def test_beyond_the_last_sample_only_a_later_check_defines_views() -> None:
    assert reach.views_at_age(A, 60 * H) is None
    # Checked at 59 h (nothing changed, no row): still before 60 h.
    assert reach.views_at_age(post(P, (50, 800), checked=59), 60 * H) is None
    # Checked at 60 h: the value is the last sample's.
    assert reach.views_at_age(post(P, (50, 800), checked=60), 60 * H) == 800


def by_definition(post: PostViews, age: timedelta) -> Fraction | None:
    """views(p, a) read straight off METRICS.md, one age at a time: the last sample at or
    before the target (the implicit (0, 0) when none), the first at or after it."""
    target = post.published_at + age
    kept = [s for s in post.samples if s.sampled_at >= post.published_at]
    before = max(
        (s for s in kept if s.sampled_at <= target),
        key=lambda s: s.sampled_at,
        default=ViewSample(post.published_at, 0),
    )
    after = min(
        (s for s in kept if s.sampled_at >= target), key=lambda s: s.sampled_at, default=None
    )
    if after is None:
        checked = post.checked_until is not None and post.checked_until >= target
        return Fraction(before.views) if checked else None
    if after.sampled_at == target:
        return Fraction(after.views)
    micro = timedelta(microseconds=1)
    share = Fraction(
        (target - before.sampled_at) // micro, (after.sampled_at - before.sampled_at) // micro
    )
    return before.views + (after.views - before.views) * share


def test_views_at_many_ages_in_one_pass_follow_the_definition() -> None:
    ages = [timedelta(0), H / 2, H, 2 * H, 10 * H, 12 * H, 24 * H, 30 * H, 48 * H, 60 * H]
    values = reach.views_at_ages(A, ages)
    assert [None if v is None else Fraction(*v) for v in values] == [
        by_definition(A, age) for age in ages
    ]
    # By hand: 12 h 430 and 24 h 610 (as above), beyond the last sample undefined.
    assert values[5] is not None
    assert Fraction(*values[5]) == 430
    assert values[6] is not None
    assert Fraction(*values[6]) == 610
    assert values[9] is None
    draw = random.Random(11)
    for _ in range(300):
        hours = sorted(draw.sample(range(-5, 200), draw.randint(0, 12)))
        checked = draw.choice([None, draw.randint(0, 220)])
        sampled = post(P, *((h / 2, draw.randint(0, 5000)) for h in hours), checked=checked)
        asked = sorted({draw.randint(0, 400) * H / 4 for _ in range(draw.randint(1, 9))})
        assert [
            None if v is None else Fraction(*v) for v in reach.views_at_ages(sampled, asked)
        ] == [by_definition(sampled, age) for age in asked]


def test_post_reach_says_why_it_is_missing() -> None:
    assert reach.post_reach(A, 24 * H, P + 60 * H) == Metric.of(610)
    young = post(P, (1, 100))
    assert reach.post_reach(young, 24 * H, P + 20 * H) == Metric.unavailable(
        UnavailableReason.POST_TOO_YOUNG
    )
    assert reach.post_reach(post(P), 24 * H, P + 100 * H) == Metric.unavailable(
        UnavailableReason.NO_SAMPLES
    )


def test_channel_reach_means_over_posts_old_enough() -> None:
    end = P + 100 * H
    b = post(end - 30 * H, (24, 200))  # views(24 h) = 200
    young = post(end - 10 * H, (5, 5000))  # 10 h old at end: not counted
    unsampled = post(end - 40 * H)  # old enough, no sample: left out
    # (610 + 200) / 2 = 405
    assert reach.channel_reach([A, b, young, unsampled], 24 * H, end) == Metric.of(405)
    assert reach.channel_reach([young], 24 * H, end) == Metric.unavailable(
        UnavailableReason.POST_TOO_YOUNG
    )
    assert reach.channel_reach([unsampled], 24 * H, end) == Metric.unavailable(
        UnavailableReason.NO_SAMPLES
    )
    assert reach.channel_reach([], 24 * H, end) == Metric.unavailable(UnavailableReason.NO_POSTS)


def counters(views: int, forwards: int, replies: int, reactions: int) -> PostCounters:
    return PostCounters(
        views=views, forwards=forwards, replies=replies, reactions_total=reactions, sampled_at=P
    )


def test_post_er_and_virality() -> None:
    c = counters(200, 4, 2, 14)
    # (4 + 14 + 2) / 200 * 100 = 10; 4 / 200 = 0.02
    assert engagement.post_er(c) == Metric.of(10)
    assert engagement.virality(c) == Metric.of(0.02)
    zero = Metric.unavailable(UnavailableReason.ZERO_DENOMINATOR)
    assert engagement.post_er(counters(0, 0, 0, 0)) == zero
    assert engagement.virality(counters(0, 0, 0, 0)) == zero
    assert engagement.post_er(None) == Metric.unavailable(UnavailableReason.NO_SAMPLES)


def test_channel_er_is_a_ratio_of_sums() -> None:
    # interactions (4 + 14 + 2) + (1 + 5 + 0) = 26; views 200 + 300 = 500; 26 / 500 * 100 = 5.2
    latest = [counters(200, 4, 2, 14), counters(300, 1, 0, 5), None]
    assert engagement.channel_er(latest) == Metric.of(26 * 100 / 500)
    assert engagement.channel_er([]) == Metric.unavailable(UnavailableReason.NO_POSTS)
    assert engagement.channel_er([None]) == Metric.unavailable(UnavailableReason.NO_SAMPLES)


def test_err_and_err24() -> None:
    # ERR: mean(200, 300) / 1000 * 100 = 25
    latest = [counters(200, 0, 0, 0), counters(300, 0, 0, 0), None]
    assert engagement.err(latest, 1000) == Metric.of(25)
    # ERR24: mean(610, 200) / 1000 * 100 = 40.5
    assert engagement.err24([(610, 1), (400, 2), None], 1000) == Metric.of(40.5)
    # mean(1, 2) / 3 * 100 = 50; mean(1/3) / 7 * 100 = 100/21 exactly
    assert engagement.err24([(1, 3)], 7).value == 100 / 21
    assert engagement.err(latest, 0) == Metric.unavailable(UnavailableReason.ZERO_DENOMINATOR)
    assert engagement.err(latest, None) == Metric.unavailable(UnavailableReason.NO_SAMPLES)
    assert engagement.err([], 10) == Metric.unavailable(UnavailableReason.NO_POSTS)
