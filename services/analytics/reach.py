"""``views(p, a)`` and the reach metrics built on it, as ../shared/METRICS.md defines them.

Values are exact fractions until they leave the service, so a mean of interpolated
views is the double nearest the exact number, whatever the order of the posts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from fractions import Fraction

from gmpy2 import mpq

from services.analytics.domain import Metric, PostViews, UnavailableReason

REACH_HORIZONS = (timedelta(hours=12), timedelta(hours=24), timedelta(hours=48))
_MICROSECOND = timedelta(microseconds=1)


def _micros(delta: timedelta) -> int:
    return delta // _MICROSECOND


Ratio = tuple[int, int]
"""An exact number as an unreduced (numerator, denominator > 0): cheaper to make than a
Fraction, and float(n / d) is correctly rounded, so ratios order as floats until two tie."""


def views_at_ages(post: PostViews, ages: Sequence[timedelta]) -> list[Ratio | None]:
    """``views(p, a)`` for each of ``ages`` (ascending), exact, in one pass over the
    samples; None where it is undefined.

    ``views(p, a)`` is the view counter of ``p`` at age ``a`` (time since publication).
    Age 0 has 0 views (an implicit sample; a real sample at age 0 wins). Between two
    samples: linear interpolation. Beyond the last sample: undefined, unless the post was
    sampled at or after age ``a`` (``checked_until``: the collector asked and nothing had
    changed, so no row was written): then it is the last sample's value. Samples before
    publication are ignored.
    """
    published = post.published_at
    samples = post.samples
    count = len(samples)
    i = 0
    while i < count and samples[i].sampled_at < published:
        i += 1
    before_at, before_views = published, 0
    results: list[Ratio | None] = []
    for age in ages:
        target = published + age
        exact = False
        while i < count and samples[i].sampled_at <= target:
            before_at, before_views = samples[i].sampled_at, samples[i].views
            i += 1
            if before_at == target:
                exact = True
                break
        if exact:
            results.append((before_views, 1))
        elif i < count:
            after = samples[i]
            if after.sampled_at == target:
                results.append((after.views, 1))
            else:
                span = _micros(after.sampled_at - before_at)
                elapsed = _micros(target - before_at)
                results.append((before_views * span + (after.views - before_views) * elapsed, span))
        elif post.checked_until is not None and post.checked_until >= target:
            results.append((before_views, 1))
        else:
            results.append(None)
    return results


def exact_sum(values: Iterable[Ratio]) -> Fraction:
    """The exact sum of ``values``: whole numbers added as ints, the rest as GMP rationals
    (gmpy2's ``mpq``, in C: a quarter of the cost of adding Fractions, measured on 3,000
    random ratios; docs/decisions.md)."""
    whole = 0
    parts = mpq(0)
    for numerator, denominator in values:
        if denominator == 1:
            whole += numerator
        else:
            parts += mpq(numerator, denominator)
    total = parts + mpq(whole)
    return Fraction(int(total.numerator), int(total.denominator))


def views_at_age(post: PostViews, age: timedelta) -> Fraction | None:
    """``views(p, a)`` as an exact Fraction (``views_at_ages`` defines it); None where it
    is undefined."""
    ratio = views_at_ages(post, (age,))[0]
    return None if ratio is None else Fraction(*ratio)


def post_reaches(post: PostViews, ages: Sequence[timedelta], now: datetime) -> list[Metric]:
    """Reach@age of one post for each of ``ages`` (ascending): ``views(p, age)``.

    POST_TOO_YOUNG while the post is younger than ``age`` at ``now``; NO_SAMPLES when it
    is old enough but no sample reaches that age.
    """
    reaches: list[Metric] = []
    for age, value in zip(ages, views_at_ages(post, ages), strict=True):
        if value is not None:
            reaches.append(Metric.of(value[0] / value[1]))
        elif now - post.published_at < age:
            reaches.append(Metric.unavailable(UnavailableReason.POST_TOO_YOUNG))
        else:
            reaches.append(Metric.unavailable(UnavailableReason.NO_SAMPLES))
    return reaches


def post_reach(post: PostViews, age: timedelta, now: datetime) -> Metric:
    """Reach@age of one post (``post_reaches`` for one age)."""
    return post_reaches(post, (age,), now)[0]


def channel_reach(posts: Sequence[PostViews], age: timedelta, end: datetime) -> Metric:
    """Reach@age of a channel over a period: the mean of ``views(p, age)`` over the posts
    published in the period whose age at ``end`` is at least ``age``.

    ``posts`` are the period's live posts. As with the per-post means of the overview, a
    post old enough whose ``views(p, age)`` is unknown is left out of the mean. NO_POSTS
    without posts, POST_TOO_YOUNG when none is old enough, NO_SAMPLES when none of those
    old enough has a known value.
    """
    if not posts:
        return Metric.unavailable(UnavailableReason.NO_POSTS)
    old_enough = [post for post in posts if end - post.published_at >= age]
    if not old_enough:
        return Metric.unavailable(UnavailableReason.POST_TOO_YOUNG)
    known = [v for v in (views_at_ages(post, (age,))[0] for post in old_enough) if v is not None]
    if not known:
        return Metric.unavailable(UnavailableReason.NO_SAMPLES)
    return Metric.of(float(exact_sum(known) / len(known)))
