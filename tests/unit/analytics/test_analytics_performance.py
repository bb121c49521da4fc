"""Performance index, rating, weighted median, best time and curves, worked out by hand."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from services.analytics import curves, performance
from services.analytics.domain import Metric, PostViews, UnavailableReason, ViewSample
from services.analytics.performance import Rating, Views24

P = datetime(2025, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def test_median_of_odd_and_even_counts() -> None:
    assert performance.median([Fraction(1), Fraction(3), Fraction(2)]) == 2
    assert performance.median([Fraction(4), Fraction(1), Fraction(3), Fraction(2)]) == Fraction(
        5, 2
    )


def test_median_orders_values_whose_floats_tie_exactly() -> None:
    # 10**17 + 1 and 10**17 + 3 have the same float as 10**17; the exact order decides.
    big = 10**17
    values = [Fraction(big + 3), Fraction(big), Fraction(big + 1), Fraction(5)]
    assert performance.median(values) == big + Fraction(1, 2)
    assert performance.median(values[:3]) == big + 1
    # As unreduced ratios: 1/3 < 2/5 < 3/7 ... 4/6 is 2/3.
    assert performance.median_of_ratios([(4, 6), (1, 3), (3, 7)]) == Fraction(3, 7)
    assert performance.median_of_ratios([(2 * big + 2, 2), (big, 1)]) == big + Fraction(1, 2)


def test_median_of_ratios_equals_the_median_of_fractions() -> None:
    draw = random.Random(5)
    for _ in range(200):
        ratios = [
            (draw.randint(0, 10 ** draw.randint(1, 18)), draw.randint(1, 10 ** draw.randint(0, 12)))
            for _ in range(draw.randint(1, 30))
        ]
        exact = sorted(Fraction(n, d) for n, d in ratios)
        size = len(exact)
        want = exact[size // 2] if size % 2 else (exact[size // 2 - 1] + exact[size // 2]) / 2
        assert performance.median_of_ratios(ratios) == want


def test_median_of_ratios_with_many_float_ties() -> None:
    """Values 10**17 + k share a float in runs; equal values repeat; any order."""
    draw = random.Random(11)
    big = 10**17
    for _ in range(300):
        ratios = [
            draw.choice([(big + draw.randint(0, 40), 1), (2 * big + draw.randint(0, 9), 2)])
            for _ in range(draw.randint(1, 25))
        ]
        exact = sorted(Fraction(n, d) for n, d in ratios)
        size = len(exact)
        want = exact[size // 2] if size % 2 else (exact[size // 2 - 1] + exact[size // 2]) / 2
        assert performance.median_of_ratios(ratios) == want
        floats = [n / d for n, d in ratios]
        assert performance.median_of_ratios(ratios, floats) == want


def test_performance_index_needs_five_baseline_posts() -> None:
    baseline = [Fraction(v) for v in (100, 200, 250, 300, 400)]
    # 500 / median 250 = 2
    assert performance.performance_index(Fraction(500), baseline) == Metric.of(2)
    assert performance.performance_index(Fraction(500), baseline[:4]) == Metric.unavailable(
        UnavailableReason.TOO_FEW_POSTS
    )
    assert performance.performance_index(None, baseline) == Metric.unavailable(
        UnavailableReason.NO_SAMPLES
    )
    zeros = [Fraction(0)] * 5
    assert performance.performance_index(Fraction(5), zeros) == Metric.unavailable(
        UnavailableReason.ZERO_DENOMINATOR
    )


def test_baseline_is_the_thirty_days_before_the_post() -> None:
    target = Views24(P + 40 * DAY, Fraction(900))
    history = [
        Views24(P + 40 * DAY - timedelta(days=30, seconds=1), Fraction(1)),  # too old
        Views24(P + 10 * DAY, Fraction(100)),  # exactly 30 days before: in
        Views24(P + 20 * DAY, Fraction(200)),
        Views24(P + 21 * DAY, None),  # unknown views: not one of "such posts"
        Views24(P + 25 * DAY, Fraction(300)),
        Views24(P + 30 * DAY, Fraction(400)),
        Views24(P + 35 * DAY, Fraction(600)),
        target,  # itself: not in its own baseline
        Views24(P + 41 * DAY, Fraction(5)),  # after: not in it
    ]
    # baseline 100, 200, 300, 400, 600: median 300; 900 / 300 = 3
    [(metric, exact)] = performance.performance_indexes([target], history)
    assert metric == Metric.of(3)
    assert exact == 3
    assert performance.rating(exact) is Rating.VIRAL


def test_rating_thresholds_are_strict() -> None:
    assert performance.rating(Fraction(2)) is Rating.NORMAL
    assert performance.rating(Fraction(201, 100)) is Rating.VIRAL
    assert performance.rating(Fraction(1, 2)) is Rating.NORMAL
    assert performance.rating(Fraction(49, 100)) is Rating.UNDERPERFORMING
    assert performance.rating(None) is None


def test_weighted_median_is_the_smallest_value_reaching_half_the_weight() -> None:
    # total 3.5, half 1.75: cumulative 1.0 (value 1), 2.0 (value 2) -> 2
    assert (
        performance.weighted_median(
            [(Fraction(10), 0.5), (Fraction(2), 1.0), (Fraction(1), 1.0), (Fraction(3), 1.0)]
        )
        == 2
    )
    # total 1.5, half 0.75: cumulative 0.25, 0.5, 1.5 -> 5
    assert (
        performance.weighted_median([(Fraction(1), 0.25), (Fraction(2), 0.25), (Fraction(5), 1.0)])
        == 5
    )


def test_age_weight_halves_every_thirty_days() -> None:
    assert performance.age_weight(P, P) == 1
    assert performance.age_weight(P, P + 30 * DAY) == 0.5
    assert performance.age_weight(P, P + 60 * DAY) == 0.25


def test_best_time_slots_in_the_channel_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")  # UTC+1 in early March
    monday_8_utc = datetime(2025, 3, 3, 8, tzinfo=UTC)  # Monday 09:xx in Berlin
    indexed = [
        (monday_8_utc, Fraction(4)),
        (monday_8_utc + timedelta(minutes=10), Fraction(1)),
        (monday_8_utc + timedelta(minutes=20), Fraction(2)),
        (datetime(2025, 3, 4, 22, tzinfo=UTC), Fraction(9)),  # Tuesday 23:00 Berlin
        (datetime(2025, 3, 4, 22, 30, tzinfo=UTC), Fraction(9)),
    ]
    slots = performance.best_time(indexed, monday_8_utc + 30 * DAY, berlin)
    assert len(slots) == 168
    by_cell = {(s.weekday, s.hour): s for s in slots}
    # Weights ~0.5 each: sorted 1, 2, 4; the second reaches half -> 2.
    assert by_cell[(1, 9)].posts == 3
    assert by_cell[(1, 9)].score == Metric.of(2)
    assert by_cell[(2, 23)].posts == 2
    assert by_cell[(2, 23)].score == Metric.unavailable(UnavailableReason.TOO_FEW_POSTS)
    assert by_cell[(1, 8)].posts == 0
    assert (slots[0].weekday, slots[0].hour) == (1, 0)


def test_view_curve_starts_at_zero_and_median_curve_needs_five_posts() -> None:
    h = timedelta(hours=1)
    one = PostViews(P, (ViewSample(P + h, 10), ViewSample(P + 24 * h, 50)))
    assert curves.view_curve(one) == [(timedelta(0), 0), (h, 10), (24 * h, 50)]
    # Five posts with views at 24 h of 10, 20, 30, 40, 50 (sampled exactly then).
    baseline = [PostViews(P, (ViewSample(P + 24 * h, 10 * k),)) for k in range(1, 6)]
    points = {point.age: point for point in curves.median_curve(baseline)}
    assert points[24 * h].views == Metric.of(30)
    assert points[24 * h].posts == 5
    # At 12 h each is interpolated from (0, 0): 5, 10, 15, 20, 25 -> 15.
    assert points[12 * h].views == Metric.of(15)
    # At 48 h nobody is known.
    assert points[48 * h] == curves.CurvePoint(
        48 * h, Metric.unavailable(UnavailableReason.TOO_FEW_POSTS), 0
    )


def _index_by_definition(target: Views24, history: list[Views24]) -> tuple[Metric, Fraction | None]:
    """The definition read literally: a fresh baseline and median for one post."""
    baseline = [
        q.views_24h
        for q in history
        if q.views_24h is not None
        and target.published_at - performance.BASELINE_WINDOW
        <= q.published_at
        < target.published_at
    ]
    metric = performance.performance_index(target.views_24h, baseline)
    if not metric.available or target.views_24h is None:
        return metric, None
    return metric, target.views_24h / performance.median(baseline)


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=90 * 24),  # hours after P
            st.one_of(st.none(), st.fractions(min_value=0, max_value=1000, max_denominator=7)),
        ),
        max_size=60,
    ),
    st.randoms(use_true_random=False),
)
@settings(max_examples=200, deadline=None)
def test_sliding_window_equals_the_definition_post_by_post(
    rows: list[tuple[int, Fraction | None]], shuffle: random.Random
) -> None:
    history = [Views24(P + timedelta(hours=h), v) for h, v in rows]
    targets = list(history)
    shuffle.shuffle(targets)  # any order in, the same order out
    got = performance.performance_indexes(targets, history)
    assert got == [_index_by_definition(t, history) for t in targets]
    # The export's way: posts streamed in publication order, each indexed, then added.
    streamed = performance.SlidingBaseline()
    for post in sorted(history, key=lambda p: p.published_at):
        assert streamed.index(post) == _index_by_definition(post, history)
        streamed.add(post.published_at, post.views_24h)
