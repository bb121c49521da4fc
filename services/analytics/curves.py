"""A post's view curve and the channel's median curve beside it.

METRICS.md defines ``views(p, a)``; the median curve applies the performance index's
baseline to every age: at age ``a``, the median of ``views(q, a)`` over the channel's
live posts ``q`` published in the 30 days before ``p`` where it is known, "not enough
data" (TOO_FEW_POSTS) with fewer than 5 such posts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from typing import NamedTuple

from services.analytics.domain import Metric, PostViews, UnavailableReason
from services.analytics.performance import MIN_BASELINE_POSTS, as_float, median_of_ratios
from services.analytics.reach import Ratio, views_at_ages

# Ascending (views_at_ages visits them in order).
CURVE_AGES = tuple(timedelta(hours=h) for h in (1, 2, 3, 6, 12, 24, 48, 72, 168))


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """The channel's median views at one age, over ``posts`` posts (``exact``: the
    median as a fraction, None where it is not enough data)."""

    age: timedelta
    views: Metric
    posts: int
    exact: Fraction | None = None


def view_curve(post: PostViews) -> list[tuple[timedelta, int]]:
    """The post's samples as (age, views), the implicit (0, 0) first; samples before
    publication are left out, and a real sample at age 0 replaces the implicit one."""
    points = [
        (sample.sampled_at - post.published_at, sample.views)
        for sample in post.samples
        if sample.sampled_at >= post.published_at
    ]
    if not points or points[0][0] != timedelta(0):
        points.insert(0, (timedelta(0), 0))
    return points


class Known(NamedTuple):
    """One age's known ``views(q, a)``, in publication order, with their floats
    (correctly rounded; ``performance.median_of_ratios`` orders by them)."""

    values: Sequence[Ratio]
    floats: Sequence[float]


def known_of(values: list[Ratio]) -> Known:
    """``values`` with their floats."""
    return Known(values, [numerator / denominator for numerator, denominator in values])


def curve_views(baseline: Sequence[PostViews]) -> list[Known]:
    """For each of ``CURVE_AGES``, the known ``views(q, a)`` of the posts of ``baseline``
    (each post's samples read once for all ages)."""
    columns: list[list[Ratio]] = [[] for _ in CURVE_AGES]
    for post in baseline:
        for column, value in zip(columns, views_at_ages(post, CURVE_AGES), strict=True):
            if value is not None:
                column.append(value)
    return [known_of(column) for column in columns]


def median_curve(baseline: Sequence[PostViews]) -> list[CurvePoint]:
    """The channel's median curve at ``CURVE_AGES`` over ``baseline``, the live posts of
    the 30 days before the post (with at least the samples around each age)."""
    return medians(curve_views(baseline))


def medians(columns: Sequence[Known]) -> list[CurvePoint]:
    """The median curve from ``curve_views``: TOO_FEW_POSTS at an age with fewer than 5
    known values."""
    points = []
    for age, known in zip(CURVE_AGES, columns, strict=True):
        count = len(known.values)
        if count < MIN_BASELINE_POSTS:
            points.append(
                CurvePoint(age, Metric.unavailable(UnavailableReason.TOO_FEW_POSTS), count)
            )
            continue
        exact = median_of_ratios(known.values, known.floats)
        points.append(CurvePoint(age, Metric.of(as_float(exact)), count, exact))
    return points
