"""Proto messages of posts, series, native statistics and alerts → API models.

Pure functions, no I/O. Enum values lose their proto prefix and are lowercased; a value
this gateway does not know becomes null rather than an error.
"""

from __future__ import annotations

import json
from typing import Any, cast, get_args

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper

from analyticbot.analytics.v1 import alerts_pb2, analytics_pb2, posts_pb2, series_pb2
from gateway.api import alert_schemas as alerts
from gateway.api import insight_schemas as schemas
from gateway.api.mapping import metric, period, timestamp
from gateway.errors import APIError

# API value → proto enum name (message constructors take names).
SORTS = {name: "POST_SORT_" + name.upper() for name in get_args(schemas.PostSortName)}
ALERT_KINDS = {name: "ALERT_KIND_" + name.upper() for name in get_args(alerts.AlertKindName)}
GRANULARITIES = {
    "auto": series_pb2.GRANULARITY_UNSPECIFIED,
    "hour": series_pb2.GRANULARITY_HOUR,
    "day": series_pb2.GRANULARITY_DAY,
}


def enum_name(wrapper: EnumTypeWrapper, value: int, prefix: str, known: Any) -> Any:
    """``POST_RATING_VIRAL`` → ``"viral"``; None for UNSPECIFIED or an unknown value."""
    try:
        name = wrapper.Name(value).removeprefix(prefix).lower()
    except ValueError:
        return None
    return name if name in get_args(known) else None


def json_object(text: str) -> dict[str, Any]:
    """A JSON object stored by a peer; a malformed one is a peer defect (500)."""
    try:
        document = json.loads(text) if text else {}
    except ValueError:
        raise APIError(500, "INTERNAL", "internal error") from None
    if not isinstance(document, dict):
        raise APIError(500, "INTERNAL", "internal error")
    return cast(dict[str, Any], document)


def comparison(
    channel_id: int, response: analytics_pb2.ComparePeriodsResponse
) -> schemas.Comparison:
    return schemas.Comparison(
        channel_id=channel_id, first=period(response.first), second=period(response.second)
    )


def post_summary(post: posts_pb2.PostSummary) -> schemas.PostSummary:
    return schemas.PostSummary(
        message_id=post.message_id,
        published_at=timestamp(post.published_at),
        media_type=post.media_type,
        text_preview=post.text_preview,
        views=metric(post.views),
        forwards=metric(post.forwards),
        replies=metric(post.replies),
        reactions=metric(post.reactions),
        er=metric(post.er),
        virality=metric(post.virality),
        reach_12h=metric(post.reach_12h),
        reach_24h=metric(post.reach_24h),
        reach_48h=metric(post.reach_48h),
        performance_index=metric(post.performance_index),
        rating=enum_name(posts_pb2.PostRating, post.rating, "POST_RATING_", schemas.RatingName),
    )


def post_page(response: posts_pb2.ListPostsResponse) -> schemas.PostPage:
    return schemas.PostPage(
        posts=[post_summary(p) for p in response.posts],
        next_cursor=response.next_page_token or None,
        total=response.total,
    )


def post_detail(response: posts_pb2.GetPostResponse) -> schemas.PostDetail:
    return schemas.PostDetail(
        post=post_summary(response.post),
        view_curve=[
            schemas.ViewSample(age_seconds=s.age_seconds, views=s.views)
            for s in response.view_curve
        ],
        channel_median_curve=[
            schemas.CurvePoint(age_seconds=p.age_seconds, views=metric(p.views), posts=p.posts)
            for p in response.channel_median_curve
        ],
        reactions=[schemas.ReactionCount(emoji=r.emoji, count=r.count) for r in response.reactions],
    )


def best_time(response: series_pb2.GetBestTimeResponse) -> schemas.BestTime:
    return schemas.BestTime(
        time_zone=response.time_zone,
        slots=[
            schemas.BestTimeSlot(
                weekday=s.weekday, hour=s.hour, posts=s.posts, score=metric(s.score)
            )
            for s in response.slots
        ],
    )


def subscriber_series(
    response: series_pb2.GetSubscriberSeriesResponse,
) -> schemas.SubscriberSeries:
    hourly = response.granularity == series_pb2.GRANULARITY_HOUR
    return schemas.SubscriberSeries(
        granularity="hour" if hourly else "day",
        points=[
            schemas.SubscriberPoint(at=timestamp(p.at), subscribers=metric(p.subscribers))
            for p in response.points
        ],
    )


def native_stats(response: analytics_pb2.ListNativeStatsResponse) -> schemas.NativeStatsList:
    return schemas.NativeStatsList(
        entries=[
            schemas.NativeStatsEntry(
                collected_at=timestamp(e.collected_at),
                period=e.period,
                payload=json_object(e.payload_json),
            )
            for e in response.entries
        ]
    )


def alert_kind(value: int) -> alerts.AlertKindName | None:
    kind = enum_name(alerts_pb2.AlertKind, value, "ALERT_KIND_", alerts.AlertKindName)
    return cast(alerts.AlertKindName | None, kind)


def alert_rule(rule: alerts_pb2.AlertRule) -> alerts.AlertRule:
    return alerts.AlertRule(
        rule_id=rule.rule_id,
        channel_id=rule.channel_id,
        kind=alert_kind(rule.kind),
        threshold=rule.threshold,
        created_at=timestamp(rule.created_at),
    )


def alert(item: alerts_pb2.Alert) -> alerts.Alert:
    return alerts.Alert(
        alert_id=item.alert_id,
        sequence=item.sequence,
        rule_id=item.rule_id,
        kind=alert_kind(item.kind),
        channel_id=item.channel_id,
        message_id=item.message_id or None,
        text=item.text,
        data=json_object(item.data_json),
        deep_link=item.deep_link,
        created_at=timestamp(item.created_at),
    )


def alert_list(response: alerts_pb2.ListAlertsResponse, limit: int) -> alerts.AlertList:
    items = [alert(a) for a in response.alerts]
    full = len(items) >= limit and items
    return alerts.AlertList(alerts=items, next_cursor=str(items[-1].sequence) if full else None)
