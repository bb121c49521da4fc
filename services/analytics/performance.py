"""Post performance index and best time to post, as ../shared/METRICS.md defines them."""

from __future__ import annotations

import enum
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from sortedcontainers import SortedList

from services.analytics.domain import Metric, UnavailableReason
from services.analytics.reach import Ratio

BASELINE_WINDOW = timedelta(days=30)
MIN_BASELINE_POSTS = 5
VIRAL_ABOVE = 2
UNDERPERFORMING_BELOW = Fraction(1, 2)
MIN_SLOT_POSTS = 3
HALF_LIFE_DAYS = 30


class Rating(enum.Enum):
    """The class of a post by its performance index."""

    NORMAL = "normal"
    VIRAL = "viral"
    UNDERPERFORMING = "underperforming"


def as_float(value: Fraction) -> float:
    """``float(value)``, correctly rounded, at a third of the cost: ``float()`` of a
    Fraction goes through ``numbers.Rational.__float__`` (measured 263 vs 120 ns; the
    posts list and best time convert ~80,000 values per call)."""
    return value.numerator / value.denominator


def median(values: Sequence[Fraction]) -> Fraction:
    """The median: the middle value, or the mean of the two middle values."""
    return median_of_ratios([(value.numerator, value.denominator) for value in values])


def median_of_ratios(values: Sequence[Ratio], floats: Sequence[float] | None = None) -> Fraction:
    """``median`` of exact numbers given as (numerator, denominator > 0), not empty;
    ``floats``, when given, holds each one's float.

    Ordered by their floats (correctly rounded, so monotonic: x < y gives float(x) <=
    float(y)), sorted as bare floats: the middle ranks hold the values whose float is a
    middle float (found by C-level search), and only they are made Fractions and ordered
    exactly.
    """
    if floats is None:
        floats = [numerator / denominator for numerator, denominator in values]
    ordered = sorted(floats)
    size = len(ordered)
    low, high = (size - 1) // 2, size // 2
    start = bisect_left(ordered, ordered[low])
    exact = sorted(
        Fraction(*values[i])
        for middle in dict.fromkeys((ordered[low], ordered[high]))
        for i in _positions(floats, ordered, middle)
    )
    if low == high:
        return exact[low - start]
    return (exact[low - start] + exact[high - start]) / 2


def _positions(floats: Sequence[float], ordered: list[float], value: float) -> list[int]:
    """The indexes of ``value`` in ``floats`` (``ordered``: the same floats, sorted)."""
    found: list[int] = []
    at = -1
    for _ in range(bisect_right(ordered, value) - bisect_left(ordered, value)):
        at = floats.index(value, at + 1)
        found.append(at)
    return found


@dataclass(frozen=True, slots=True)
class Views24:
    """``views(p, 24h)`` of a live post of the channel (None when unknown)."""

    published_at: datetime
    views_24h: Fraction | None


def performance_index(views_24h: Fraction | None, baseline: Sequence[Fraction]) -> Metric:
    """Post performance index: ``views(p, 24h)`` ÷ the median ``views(q, 24h)`` over the
    channel's posts ``q`` published in the 30 days before ``p``.

    ``baseline`` holds the known ``views(q, 24h)`` of those posts (a post whose value is
    unknown is not one of "such posts"). TOO_FEW_POSTS with fewer than 5, NO_SAMPLES when
    ``views(p, 24h)`` is unknown, ZERO_DENOMINATOR when the median is 0.
    """
    return performance_index_exact(views_24h, baseline)[0]


def performance_index_exact(
    views_24h: Fraction | None, baseline: Sequence[Fraction]
) -> tuple[Metric, Fraction | None]:
    """``performance_index`` with its exact value (None when it has none)."""
    known = len(baseline)
    middle = median(baseline) if views_24h is not None and known >= MIN_BASELINE_POSTS else None
    return index_over_median(views_24h, known, middle)


def index_over_median(
    views_24h: Fraction | None, known: int, middle: Fraction | None
) -> tuple[Metric, Fraction | None]:
    """``performance_index_exact`` from the baseline's size and its median (None when
    it is not needed: no ``views_24h``, or fewer than 5 values)."""
    if views_24h is None:
        return _NO_SAMPLES, None
    if known < MIN_BASELINE_POSTS or middle is None:
        return Metric.unavailable(UnavailableReason.TOO_FEW_POSTS), None
    if middle == 0:
        return Metric.unavailable(UnavailableReason.ZERO_DENOMINATOR), None
    exact = views_24h / middle
    return Metric.of(as_float(exact)), exact


class SlidingBaseline:
    """The known ``views(q, 24h)`` of the posts published in the 30 days before a target
    that moves forward in time, as a sorted window: each post enters and leaves it once,
    so indexing n targets costs O(n log window) instead of a sort per target.

    Posts are ``add``-ed in publication order, at any time before the targets that come
    after them; ``index`` must be asked in publication order.
    """

    def __init__(self) -> None:
        # Ordered by (float, exact): float() is monotonic, so this is the exact order,
        # and all but float ties compare as C floats instead of Fractions. Equal values
        # share one key object: tuple comparison checks identity before calling
        # Fraction.__eq__, which ties would otherwise call often.
        self._window: SortedList[tuple[float, Fraction]] = SortedList()
        self._canonical: dict[Fraction, tuple[float, Fraction]] = {}
        self._waiting: deque[tuple[datetime, tuple[float, Fraction]]] = deque()
        self._inside: deque[tuple[datetime, tuple[float, Fraction]]] = deque()

    def add(self, published_at: datetime, views_24h: Fraction | None) -> None:
        """A post of the channel (unknown values are not part of any baseline)."""
        if views_24h is not None:
            key = self._canonical.setdefault(views_24h, (as_float(views_24h), views_24h))
            self._waiting.append((published_at, key))

    def index(self, target: Views24) -> tuple[Metric, Fraction | None]:
        """``performance_index`` of ``target`` with its exact value (or None)."""
        while self._waiting and self._waiting[0][0] < target.published_at:
            entering = self._waiting.popleft()
            self._window.add(entering[1])
            self._inside.append(entering)
        oldest = target.published_at - BASELINE_WINDOW
        while self._inside and self._inside[0][0] < oldest:
            self._window.remove(self._inside.popleft()[1])
        return _indexed(target.views_24h, self._window)


def performance_indexes(
    targets: Sequence[Views24], history: Sequence[Views24]
) -> list[tuple[Metric, Fraction | None]]:
    """``performance_index`` of each of ``targets``, with its exact value (or None).

    ``history`` must hold every live post of the channel published in the 30 days before
    the earliest target and up to the latest (targets included); the targets are visited
    in publication order over a ``SlidingBaseline``.
    """
    baseline = SlidingBaseline()
    for post in sorted(history, key=lambda post: post.published_at):
        baseline.add(post.published_at, post.views_24h)
    results: list[tuple[Metric, Fraction | None]] = [(_NO_SAMPLES, None)] * len(targets)
    for i in sorted(range(len(targets)), key=lambda i: targets[i].published_at):
        results[i] = baseline.index(targets[i])
    return results


_NO_SAMPLES = Metric.unavailable(UnavailableReason.NO_SAMPLES)


def _indexed(
    views_24h: Fraction | None, window: SortedList[tuple[float, Fraction]]
) -> tuple[Metric, Fraction | None]:
    """``performance_index`` over a baseline already in order, with its exact value."""
    size = len(window)
    middle: Fraction | None = None
    if views_24h is not None and size >= MIN_BASELINE_POSTS:
        if size % 2:
            middle = window[size // 2][1]
        else:
            middle = (window[size // 2 - 1][1] + window[size // 2][1]) / 2
    return index_over_median(views_24h, size, middle)


def rating(index: Fraction | None) -> Rating | None:
    """Above 2 is "viral", below 0.5 is "underperforming"; None without an index."""
    if index is None:
        return None
    if index > VIRAL_ABOVE:
        return Rating.VIRAL
    if index < UNDERPERFORMING_BELOW:
        return Rating.UNDERPERFORMING
    return Rating.NORMAL


def age_weight(published_at: datetime, at: datetime) -> float:
    """The weight of a post in the best-time median: 2^(-age in days ÷ 30)."""
    age_days = (at - published_at) / timedelta(days=1)
    return float(2 ** (-age_days / HALF_LIFE_DAYS))


def weighted_median(pairs: Sequence[tuple[Fraction, float]]) -> Fraction:
    """The smallest value whose cumulative weight reaches half the total weight."""
    ordered = sorted(pairs, key=lambda pair: (as_float(pair[0]), pair[0]))
    half = sum(weight for _, weight in ordered) / 2
    running = 0.0
    for value, weight in ordered:
        running += weight
        if running >= half:
            return value
    return ordered[-1][0]


@dataclass(frozen=True, slots=True)
class Slot:
    """One weekday x hour cell (ISO weekday 1-7, hour 0-23) of the heatmap."""

    weekday: int
    hour: int
    posts: int
    score: Metric


def best_time(
    indexed: Sequence[tuple[datetime, Fraction]], at: datetime, zone: ZoneInfo
) -> list[Slot]:
    """Best time to post: for each weekday x hour slot in the channel's time zone, the
    weighted median performance index of the posts published in that slot, each
    weighted 2^(-age in days ÷ 30) (age at ``at``); slots with fewer than 3 posts are
    TOO_FEW_POSTS.

    ``indexed`` holds (publication time, performance index) of every post with an index.
    Returns 168 slots, Monday 00:00 first.
    """
    cells: dict[tuple[int, int], list[tuple[Fraction, float]]] = {}
    for published_at, index in indexed:
        local = published_at.astimezone(zone)
        key = (local.isoweekday(), local.hour)
        cells.setdefault(key, []).append((index, age_weight(published_at, at)))
    slots: list[Slot] = []
    for weekday in range(1, 8):
        for hour in range(24):
            pairs = cells.get((weekday, hour), [])
            score = (
                Metric.of(float(weighted_median(pairs)))
                if len(pairs) >= MIN_SLOT_POSTS
                else Metric.unavailable(UnavailableReason.TOO_FEW_POSTS)
            )
            slots.append(Slot(weekday=weekday, hour=hour, posts=len(pairs), score=score))
    return slots
