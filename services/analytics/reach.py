"""``views(p, a)`` and the reach metrics built on it, as ../shared/METRICS.md defines them.

Values are exact fractions until they leave the service, so a mean of interpolated
views is the double nearest the exact number, whatever the order of the posts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from fractions import Fraction

from services.analytics.domain import Metric, PostViews, UnavailableReason

REACH_HORIZONS = (timedelta(hours=12), timedelta(hours=24), timedelta(hours=48))
_MICROSECOND = timedelta(microseconds=1)


def _micros(delta: timedelta) -> int:
    return delta // _MICROSECOND


def views_at_age(post: PostViews, age: timedelta) -> Fraction | None:
    """``views(p, a)``: the view counter of ``p`` at age ``a`` (time since publication).

    Age 0 has 0 views (an implicit sample; a real sample at age 0 wins). Between two
    samples: linear interpolation. Beyond the last sample: undefined (None), unless the
    post was sampled at or after age ``a`` (``checked_until``: the collector asked and
    nothing had changed, so no row was written): then it is the last sample's value.
    Samples before publication are ignored.
    """
    target = post.published_at + age
    before: tuple[datetime, int] = (post.published_at, 0)
    after: tuple[datetime, int] | None = None
    for sample in post.samples:
        if sample.sampled_at < post.published_at:
            continue
        if sample.sampled_at <= target:
            before = (sample.sampled_at, sample.views)
        if sample.sampled_at >= target:
            after = (sample.sampled_at, sample.views)
            break
    if after is None:
        if post.checked_until is not None and post.checked_until >= target:
            return Fraction(before[1])
        return None
    if after[0] == target:
        return Fraction(after[1])
    span = _micros(after[0] - before[0])
    return before[1] + Fraction((after[1] - before[1]) * _micros(target - before[0]), span)


def post_reach(post: PostViews, age: timedelta, now: datetime) -> Metric:
    """Reach@age of one post: ``views(p, age)``.

    POST_TOO_YOUNG while the post is younger than ``age`` at ``now``; NO_SAMPLES when it
    is old enough but no sample reaches that age.
    """
    value = views_at_age(post, age)
    if value is not None:
        return Metric.of(float(value))
    if now - post.published_at < age:
        return Metric.unavailable(UnavailableReason.POST_TOO_YOUNG)
    return Metric.unavailable(UnavailableReason.NO_SAMPLES)


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
    known = [v for v in (views_at_age(post, age) for post in old_enough) if v is not None]
    if not known:
        return Metric.unavailable(UnavailableReason.NO_SAMPLES)
    return Metric.of(float(sum(known, Fraction(0)) / len(known)))
