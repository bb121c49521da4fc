"""Domain values to protobuf messages and back; no I/O."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from analyticbot.analytics.v1 import (
    alerts_pb2,
    analytics_pb2,
    metric_pb2,
    posts_pb2,
    series_pb2,
)
from services.analytics.alerts_repository import Rule, StoredAlert
from services.analytics.curves import CurvePoint
from services.analytics.domain import (
    ChannelOverview,
    InvalidPeriod,
    Metric,
    PeriodEngagement,
    PeriodStats,
    UnavailableReason,
)
from services.analytics.performance import Rating, Slot
from services.analytics.posts_service import PostDetail, PostSort, PostSummary

_REASONS: dict[UnavailableReason, metric_pb2.UnavailableReason] = {
    UnavailableReason.NO_POSTS: metric_pb2.UNAVAILABLE_REASON_NO_POSTS,
    UnavailableReason.NO_SAMPLES: metric_pb2.UNAVAILABLE_REASON_NO_SAMPLES,
    UnavailableReason.TOO_FEW_POSTS: metric_pb2.UNAVAILABLE_REASON_TOO_FEW_POSTS,
    UnavailableReason.POST_TOO_YOUNG: metric_pb2.UNAVAILABLE_REASON_POST_TOO_YOUNG,
    UnavailableReason.ZERO_DENOMINATOR: metric_pb2.UNAVAILABLE_REASON_ZERO_DENOMINATOR,
}
_RATINGS = {
    None: posts_pb2.POST_RATING_UNSPECIFIED,
    Rating.NORMAL: posts_pb2.POST_RATING_NORMAL,
    Rating.VIRAL: posts_pb2.POST_RATING_VIRAL,
    Rating.UNDERPERFORMING: posts_pb2.POST_RATING_UNDERPERFORMING,
}
SORTS: dict[int, PostSort] = {
    posts_pb2.POST_SORT_UNSPECIFIED: PostSort.PUBLISHED_AT,
    posts_pb2.POST_SORT_PUBLISHED_AT: PostSort.PUBLISHED_AT,
    posts_pb2.POST_SORT_VIEWS: PostSort.VIEWS,
    posts_pb2.POST_SORT_FORWARDS: PostSort.FORWARDS,
    posts_pb2.POST_SORT_REPLIES: PostSort.REPLIES,
    posts_pb2.POST_SORT_REACTIONS: PostSort.REACTIONS,
    posts_pb2.POST_SORT_ER: PostSort.ER,
    posts_pb2.POST_SORT_VIRALITY: PostSort.VIRALITY,
    posts_pb2.POST_SORT_REACH_12H: PostSort.REACH_12H,
    posts_pb2.POST_SORT_REACH_24H: PostSort.REACH_24H,
    posts_pb2.POST_SORT_REACH_48H: PostSort.REACH_48H,
    posts_pb2.POST_SORT_PERFORMANCE_INDEX: PostSort.PERFORMANCE_INDEX,
}
ALERT_KINDS: dict[int, str] = {
    alerts_pb2.ALERT_KIND_POST_VIRAL: "post_viral",
    alerts_pb2.ALERT_KIND_POST_UNDERPERFORMING: "post_underperforming",
    alerts_pb2.ALERT_KIND_SUBSCRIBER_DROP: "subscriber_drop",
    alerts_pb2.ALERT_KIND_SUBSCRIBER_MILESTONE: "subscriber_milestone",
    alerts_pb2.ALERT_KIND_COLLECTION_STALLED: "collection_stalled",
}
_ALERT_KIND_NUMBERS = {name: number for number, name in ALERT_KINDS.items()}
INGEST_KINDS = {
    "backfill": analytics_pb2.INGEST_KIND_BACKFILL,
    "refresh": analytics_pb2.INGEST_KIND_REFRESH,
    "subscribers": analytics_pb2.INGEST_KIND_SUBSCRIBERS,
}


def timestamp_to_datetime(request: Message, field: str) -> datetime | None:
    """An aware UTC datetime from a Timestamp field of ``request``; None when unset."""
    if not request.HasField(field):
        return None
    stamp: Timestamp = getattr(request, field)
    try:
        return stamp.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise InvalidPeriod(f"{field} is out of range") from None


def timestamp(moment: datetime) -> Timestamp:
    """A Timestamp message of an aware datetime."""
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def metric_to_proto(metric: Metric) -> metric_pb2.Metric:
    """A Metric message: its value, or no value and the reason."""
    if metric.value is not None:
        return metric_pb2.Metric(value=metric.value)
    assert metric.reason is not None
    return metric_pb2.Metric(unavailable_reason=_REASONS[metric.reason])


def period_stats_to_proto(
    stats: PeriodStats, engagement: PeriodEngagement
) -> analytics_pb2.PeriodStats:
    """A PeriodStats message from the domain's."""
    return analytics_pb2.PeriodStats(
        start=timestamp(stats.period.start),
        end=timestamp(stats.period.end),
        subscribers_start=metric_to_proto(stats.subscribers_start),
        subscribers_end=metric_to_proto(stats.subscribers_end),
        subscriber_growth=metric_to_proto(stats.subscriber_growth),
        subscriber_growth_percent=metric_to_proto(stats.subscriber_growth_percent),
        posts=stats.posts,
        posts_with_samples=stats.posts_with_samples,
        views_per_post=metric_to_proto(stats.views_per_post),
        forwards_per_post=metric_to_proto(stats.forwards_per_post),
        reactions_per_post=metric_to_proto(stats.reactions_per_post),
        replies_per_post=metric_to_proto(stats.replies_per_post),
        err=metric_to_proto(engagement.err),
        err24=metric_to_proto(engagement.err24),
        er=metric_to_proto(engagement.er),
        reach_12h=metric_to_proto(engagement.reach_12h),
        reach_24h=metric_to_proto(engagement.reach_24h),
        reach_48h=metric_to_proto(engagement.reach_48h),
    )


def overview_to_proto(overview: ChannelOverview) -> analytics_pb2.GetChannelOverviewResponse:
    """The GetChannelOverview response for ``overview``."""
    response = analytics_pb2.GetChannelOverviewResponse(
        channel_id=overview.channel.id,
        title=overview.channel.title,
        current=period_stats_to_proto(overview.current, overview.current_engagement),
        previous=period_stats_to_proto(overview.previous, overview.previous_engagement),
    )
    if overview.data_as_of is not None:
        response.data_as_of.CopyFrom(timestamp(overview.data_as_of))
    return response


def post_summary_to_proto(summary: PostSummary) -> posts_pb2.PostSummary:
    """A PostSummary message."""
    record = summary.record
    return posts_pb2.PostSummary(
        message_id=record.message_id,
        published_at=timestamp(record.published_at),
        media_type=record.media_type,
        text_preview=record.text_preview,
        views=metric_to_proto(summary.views),
        forwards=metric_to_proto(summary.forwards),
        replies=metric_to_proto(summary.replies),
        reactions=metric_to_proto(summary.reactions),
        er=metric_to_proto(summary.er),
        virality=metric_to_proto(summary.virality),
        reach_12h=metric_to_proto(summary.reach_12h),
        reach_24h=metric_to_proto(summary.reach_24h),
        reach_48h=metric_to_proto(summary.reach_48h),
        performance_index=metric_to_proto(summary.performance_index),
        rating=_RATINGS[summary.rating],
    )


def _seconds(age: timedelta) -> int:
    return int(age.total_seconds())


def _curve_point(point: CurvePoint) -> posts_pb2.CurvePoint:
    return posts_pb2.CurvePoint(
        age_seconds=_seconds(point.age), views=metric_to_proto(point.views), posts=point.posts
    )


def post_detail_to_proto(detail: PostDetail) -> posts_pb2.GetPostResponse:
    """The GetPost response."""
    reactions = sorted(detail.summary.record.reactions.items(), key=lambda kv: (-kv[1], kv[0]))
    return posts_pb2.GetPostResponse(
        post=post_summary_to_proto(detail.summary),
        view_curve=[
            posts_pb2.ViewSample(age_seconds=_seconds(age), views=views)
            for age, views in detail.curve
        ],
        channel_median_curve=[_curve_point(point) for point in detail.median_curve],
        reactions=[posts_pb2.ReactionCount(emoji=e, count=c) for e, c in reactions],
    )


def best_time_to_proto(zone: str, slots: list[Slot]) -> series_pb2.GetBestTimeResponse:
    """The GetBestTime response."""
    return series_pb2.GetBestTimeResponse(
        time_zone=zone,
        slots=[
            series_pb2.BestTimeSlot(
                weekday=slot.weekday,
                hour=slot.hour,
                posts=slot.posts,
                score=metric_to_proto(slot.score),
            )
            for slot in slots
        ],
    )


def rule_to_proto(rule: Rule) -> alerts_pb2.AlertRule:
    """An AlertRule message."""
    return alerts_pb2.AlertRule(
        rule_id=rule.id,
        channel_id=rule.channel_id,
        kind=_ALERT_KIND_NUMBERS[rule.kind],  # type: ignore[arg-type]
        threshold=rule.threshold,
        created_at=timestamp(rule.created_at),
    )


def alert_to_proto(alert: StoredAlert) -> alerts_pb2.Alert:
    """An Alert message."""
    return alerts_pb2.Alert(
        alert_id=alert.key,
        sequence=alert.id,
        rule_id=alert.rule_id,
        kind=_ALERT_KIND_NUMBERS[alert.kind],  # type: ignore[arg-type]
        channel_id=alert.channel_id,
        message_id=alert.message_id or 0,
        text=alert.text,
        data_json=json.dumps(alert.data, sort_keys=True),
        deep_link=alert.deep_link,
        created_at=timestamp(alert.created_at),
    )
