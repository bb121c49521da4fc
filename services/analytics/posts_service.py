"""Use cases of the post-level read side: posts list, post detail, best time to post."""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.analytics import curves, engagement, posts_repository, repository
from services.analytics.curve_baselines import CurveBaselines
from services.analytics.domain import (
    ChannelNotFound,
    InvalidPageToken,
    Metric,
    Period,
    PostCounters,
    PostNotFound,
    PostRecord,
    UnavailableReason,
)
from services.analytics.performance import (
    BASELINE_WINDOW,
    Rating,
    Slot,
    Views24,
    best_time,
    index_over_median,
    performance_indexes,
    rating,
)
from services.analytics.reach import REACH_HORIZONS, post_reaches, views_at_age
from services.analytics.service import check_channel_id

DAY = timedelta(hours=24)


class PostSort(enum.Enum):
    """What a posts list is ordered by."""

    PUBLISHED_AT = "published_at"
    VIEWS = "views"
    FORWARDS = "forwards"
    REPLIES = "replies"
    REACTIONS = "reactions"
    ER = "er"
    VIRALITY = "virality"
    REACH_12H = "reach_12h"
    REACH_24H = "reach_24h"
    REACH_48H = "reach_48h"
    PERFORMANCE_INDEX = "performance_index"


@dataclass(frozen=True, slots=True)
class PostSummary:
    """A post and every per-post metric."""

    record: PostRecord
    views: Metric
    forwards: Metric
    replies: Metric
    reactions: Metric
    er: Metric
    virality: Metric
    reach_12h: Metric
    reach_24h: Metric
    reach_48h: Metric
    performance_index: Metric
    rating: Rating | None

    def sort_value(self, sort: PostSort) -> float | None:
        """The value ``sort`` orders by; None when unavailable."""
        if sort is PostSort.PUBLISHED_AT:
            return self.record.published_at.timestamp()
        metric: Metric = getattr(self, sort.value)
        return metric.value


def _counter(record: PostRecord, pick: Callable[[PostCounters], int]) -> Metric:
    if record.latest is None:
        return Metric.unavailable(UnavailableReason.NO_SAMPLES)
    return Metric.of(pick(record.latest))


def summarize(
    record: PostRecord, index: tuple[Metric, Fraction | None], now: datetime
) -> PostSummary:
    """Every per-post metric of ``record``; ``index`` is its performance index (metric,
    exact value) and ``now`` the moment "too young" is judged at."""
    reach_12h, reach_24h, reach_48h = post_reaches(record.views, REACH_HORIZONS, now)
    return PostSummary(
        record=record,
        views=_counter(record, lambda c: c.views),
        forwards=_counter(record, lambda c: c.forwards),
        replies=_counter(record, lambda c: c.replies),
        reactions=_counter(record, lambda c: c.reactions_total),
        er=engagement.post_er(record.latest),
        virality=engagement.virality(record.latest),
        reach_12h=reach_12h,
        reach_24h=reach_24h,
        reach_48h=reach_48h,
        performance_index=index[0],
        rating=rating(index[1]),
    )


def views24(record: PostRecord) -> Views24:
    """``views(p, 24h)`` of a post, for the performance index."""
    return Views24(record.published_at, views_at_age(record.views, DAY))


@dataclass(frozen=True, slots=True)
class PostPage:
    """One page of a posts list."""

    posts: list[PostSummary]
    next_token: str
    total: int


SortKey = tuple[int, float, int]


def _sort_key(summary: PostSummary, sort: PostSort, ascending: bool) -> SortKey:
    value = summary.sort_value(sort)
    sign = 1 if ascending else -1
    return (
        0 if value is not None else 1,
        sign * value if value is not None else 0.0,
        sign * summary.record.message_id,
    )


def _fingerprint(channel_id: int, sort: PostSort, ascending: bool, media: Sequence[str]) -> str:
    text = json.dumps([channel_id, sort.value, ascending, sorted(media)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _encode_token(fingerprint: str, period: Period, key: SortKey) -> str:
    document = {
        "f": fingerprint,
        "p": [period.start.isoformat(), period.end.isoformat()],
        "k": list(key),
    }
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode()


def decode_token(token: str, fingerprint: str) -> tuple[Period, SortKey]:
    """The period and last sort key a page token carries; InvalidPageToken when it is
    malformed or was made for another channel, sort or filter."""
    try:
        document = json.loads(base64.urlsafe_b64decode(token.encode()))
        if document["f"] != fingerprint:
            raise InvalidPageToken()
        start, end = (datetime.fromisoformat(v) for v in document["p"])
        missing, value, message = document["k"]
        return Period(start, end), (int(missing), float(value), int(message))
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidPageToken() from None


async def list_posts(
    conn: repository.Connection,
    channel_id: int,
    period: Period,
    *,
    now: datetime,
    sort: PostSort,
    ascending: bool,
    media_types: Sequence[str],
    page_size: int,
    page_token: str,
) -> PostPage:
    """The channel's live posts published in ``period`` (of ``media_types``, or all),
    ordered by ``sort`` (posts without a value last, ties by message id), one page after
    ``page_token``. Counters are the latest at ``now``. A token pins the period it was
    made with, so "the last 30 days" does not slide between pages."""
    check_channel_id(channel_id)
    fingerprint = _fingerprint(channel_id, sort, ascending, media_types)
    after: SortKey | None = None
    if page_token:
        period, after = decode_token(page_token, fingerprint)
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        if await repository.get_channel(conn, channel_id) is None:
            raise ChannelNotFound(channel_id)
        records = await posts_repository.posts_in_range(
            conn,
            channel_id,
            period.start - BASELINE_WINDOW,
            period.end,
            latest_at=now,
            ages=REACH_HORIZONS,
        )
    targets = [
        r
        for r in records
        if r.published_at >= period.start and (not media_types or r.media_type in media_types)
    ]
    known = {r.post_id: views24(r) for r in records}
    indexes = performance_indexes([known[r.post_id] for r in targets], list(known.values()))
    keyed = sorted(
        (
            (_sort_key(summary, sort, ascending), summary)
            for summary in (
                summarize(r, index, now) for r, index in zip(targets, indexes, strict=True)
            )
        ),
        key=lambda pair: pair[0],
    )
    remaining = [pair for pair in keyed if after is None or pair[0] > after]
    page = remaining[:page_size]
    more = len(remaining) > page_size
    return PostPage(
        posts=[summary for _, summary in page],
        next_token=_encode_token(fingerprint, period, page[-1][0]) if more else "",
        total=len(targets),
    )


@dataclass(frozen=True, slots=True)
class PostDetail:
    """A post, its full view curve and the channel's median curve."""

    summary: PostSummary
    curve: list[tuple[timedelta, int]]
    median_curve: list[curves.CurvePoint]


async def get_post(
    conn: repository.Connection,
    channel_id: int,
    message_id: int,
    *,
    now: datetime,
    baselines: CurveBaselines,
) -> PostDetail:
    """The post ``message_id``: every metric, its view curve, and the channel's median
    curve over the 30 days before it (its values kept between calls by ``baselines``)."""
    check_channel_id(channel_id)
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        if await repository.get_channel(conn, channel_id) is None:
            raise ChannelNotFound(channel_id)
        record = await posts_repository.get_post(conn, channel_id, message_id)
        if record is None:
            raise PostNotFound(channel_id, message_id)
        columns = await baselines.columns(
            conn, channel_id, record.published_at - BASELINE_WINDOW, record.published_at
        )
    median_curve = curves.medians(columns)
    # The performance index's baseline is the median curve's at 24 h: the same posts.
    day = median_curve[curves.CURVE_AGES.index(DAY)]
    index = index_over_median(views_at_age(record.views, DAY), day.posts, day.exact)
    return PostDetail(
        summary=summarize(record, index, now),
        curve=curves.view_curve(record.views),
        median_curve=median_curve,
    )


def zone_of(name: str) -> ZoneInfo:
    """The channel's zone; UTC when the stored name is unknown to this machine."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


async def get_best_time(
    conn: repository.Connection, channel_id: int, period: Period
) -> tuple[str, list[Slot]]:
    """The best-time heatmap from the posts published in ``period``, ages measured at
    its end, in the channel's time zone (returned beside the slots)."""
    check_channel_id(channel_id)
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        zone_name = await posts_repository.channel_time_zone(conn, channel_id)
        if zone_name is None:
            raise ChannelNotFound(channel_id)
        records = await posts_repository.posts_in_range(
            conn,
            channel_id,
            period.start - BASELINE_WINDOW,
            period.end,
            latest_at=period.end,
            ages=(DAY,),
        )
    history = [views24(r) for r in records]
    targets = [v for v in history if v.published_at >= period.start]
    indexes = performance_indexes(targets, history)
    indexed = [
        (target.published_at, exact)
        for target, (_, exact) in zip(targets, indexes, strict=True)
        if exact is not None
    ]
    zone = zone_of(zone_name)
    return zone.key, best_time(indexed, period.end, zone)
