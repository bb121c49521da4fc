"""Types and errors of the analytics read side; no I/O, no protobuf."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from analyticbot.runtime.errors import DomainError, InvalidArgument, NotFound

DEFAULT_PERIOD = timedelta(days=7)
MAX_PERIOD = timedelta(days=366)


class AnalyticsError(DomainError):
    """Base of every error the analytics service reports to its callers."""


class ChannelNotFound(AnalyticsError, NotFound):
    """The channel is not tracked (or does not exist)."""

    def __init__(self, channel_id: int) -> None:
        super().__init__(f"channel {channel_id} is not tracked")
        self.channel_id = channel_id


class InvalidChannelId(AnalyticsError, InvalidArgument):
    """A channel id that no Telegram channel can have."""

    def __init__(self, channel_id: int) -> None:
        super().__init__(f"channel_id must be a positive integer, got {channel_id}")
        self.channel_id = channel_id


class InvalidPeriod(AnalyticsError, InvalidArgument):
    """A period that is empty, reversed, too long or out of range."""


class UnavailableReason(enum.Enum):
    """Why a metric has no value; mirrors ``analyticbot.analytics.v1.UnavailableReason``."""

    NO_POSTS = "no_posts"
    NO_SAMPLES = "no_samples"
    TOO_FEW_POSTS = "too_few_posts"
    POST_TOO_YOUNG = "post_too_young"
    ZERO_DENOMINATOR = "zero_denominator"


@dataclass(frozen=True, slots=True)
class Metric:
    """A number, or the reason it cannot be computed. "Not enough data" is never 0."""

    value: float | None
    reason: UnavailableReason | None = None

    def __post_init__(self) -> None:
        if (self.value is None) == (self.reason is None):
            raise ValueError("a Metric has exactly one of value and reason")

    @classmethod
    def of(cls, value: float) -> Metric:
        """A metric with a value.

        Made without ``__init__`` (a value alone is a valid Metric by construction): a
        posts list makes tens of thousands of these, and the generated ``__init__`` of a
        frozen dataclass with ``__post_init__`` costs a third more (measured)."""
        metric = object.__new__(cls)
        _set(metric, "value", float(value))
        _set(metric, "reason", None)
        return metric

    @classmethod
    def unavailable(cls, reason: UnavailableReason) -> Metric:
        """A metric without a value, for ``reason`` (one shared instance per reason)."""
        metric = _UNAVAILABLE.get(reason)
        if metric is None:
            metric = _UNAVAILABLE[reason] = cls(value=None, reason=reason)
        return metric

    @property
    def available(self) -> bool:
        """Whether the metric has a value."""
        return self.value is not None


_set = object.__setattr__
_UNAVAILABLE: dict[UnavailableReason, Metric] = {}


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidPeriod(f"{name} must be timezone-aware")


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open interval ``[start, end)`` of aware datetimes, at most MAX_PERIOD long."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        _require_aware(self.start, "period start")
        _require_aware(self.end, "period end")
        if self.start >= self.end:
            raise InvalidPeriod(
                f"period start ({self.start.isoformat()}) must be before "
                f"its end ({self.end.isoformat()})"
            )
        if self.end - self.start > MAX_PERIOD:
            raise InvalidPeriod(f"a period may span at most {MAX_PERIOD.days} days")

    @classmethod
    def resolve(cls, start: datetime | None, end: datetime | None, now: datetime) -> Period:
        """The period a request asks for: end defaults to ``now``, start to end - 7 days."""
        _require_aware(now, "now")
        resolved_end = end if end is not None else now
        try:
            resolved_start = start if start is not None else resolved_end - DEFAULT_PERIOD
        except OverflowError:
            raise InvalidPeriod("period end is out of range") from None
        return cls(resolved_start, resolved_end)

    @property
    def length(self) -> timedelta:
        """``end - start``."""
        return self.end - self.start

    def previous(self) -> Period:
        """The previous equal period ``[start - (end - start), start)``."""
        try:
            return Period(self.start - self.length, self.start)
        except OverflowError:
            raise InvalidPeriod("the previous period is out of range") from None


@dataclass(frozen=True, slots=True)
class Channel:
    """A tracked channel as the overview names it."""

    id: int
    title: str


# The per-post values below are NamedTuples, not frozen dataclasses: a big channel's
# overview builds about 30,000 of them, and a frozen dataclass takes three times as long
# to construct (each field set through object.__setattr__); both are immutable.
class PostCounters(NamedTuple):
    """``latest(p, x, T)`` of one post for every counter x: its last sample at or before T."""

    views: int
    forwards: int
    replies: int
    reactions_total: int
    sampled_at: datetime


@dataclass(frozen=True, slots=True)
class PeriodStats:
    """The headline numbers of one period (see METRICS.md)."""

    period: Period
    subscribers_start: Metric
    subscribers_end: Metric
    subscriber_growth: Metric
    subscriber_growth_percent: Metric
    posts: int
    posts_with_samples: int
    views_per_post: Metric
    forwards_per_post: Metric
    reactions_per_post: Metric
    replies_per_post: Metric


@dataclass(frozen=True, slots=True)
class PeriodEngagement:
    """The reach and engagement numbers of one period, at its end (see METRICS.md)."""

    err: Metric
    err24: Metric
    er: Metric
    reach_12h: Metric
    reach_24h: Metric
    reach_48h: Metric


@dataclass(frozen=True, slots=True)
class ChannelOverview:
    """A period's numbers beside the previous equal period's."""

    channel: Channel
    current: PeriodStats
    previous: PeriodStats
    data_as_of: datetime | None
    current_engagement: PeriodEngagement
    previous_engagement: PeriodEngagement


class PostNotFound(AnalyticsError, NotFound):
    """The channel has no live post with this message id."""

    def __init__(self, channel_id: int, message_id: int) -> None:
        super().__init__(f"post {message_id} of channel {channel_id} not found")


class InvalidPageToken(AnalyticsError, InvalidArgument):
    """A page token that this request did not produce."""

    def __init__(self) -> None:
        super().__init__("page_token does not belong to this request")


class ViewSample(NamedTuple):
    """One sample of a post's view counter."""

    sampled_at: datetime
    views: int


class PostViews(NamedTuple):
    """What ``views(p, a)`` needs of a post: its publication time, its view samples in
    time order (all of them, or at least those around the ages asked for) and the last
    time the collector asked the source for its counters (a check that found nothing
    changed writes no sample)."""

    published_at: datetime
    samples: tuple[ViewSample, ...]
    checked_until: datetime | None = None


class PostRecord(NamedTuple):
    """A live post, its counters ``latest(p, ·, T)`` and the inputs of ``views(p, a)``."""

    post_id: int
    message_id: int
    published_at: datetime
    media_type: str
    text_preview: str
    latest: PostCounters | None
    views: PostViews
    # Latest reactions by emoji: a single post's read fills them; reads of many posts
    # leave them empty (no such reader shows them).
    reactions: dict[str, int]
