"""Proto messages → API models. Pure functions, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast, get_args

from google.protobuf.timestamp_pb2 import Timestamp

from analyticbot.analytics.v1 import analytics_pb2, metric_pb2
from analyticbot.auth.v1 import auth_pb2
from gateway.api import schemas

_REASON_PREFIX = "UNAVAILABLE_REASON_"
_REASONS = frozenset(get_args(schemas.UnavailableReason))
_ROLES = frozenset(get_args(schemas.RoleName))


def timestamp(ts: Timestamp) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)


def metric(message: metric_pb2.Metric) -> schemas.Metric:
    """A set value wins; otherwise the reason without its enum prefix (None if unknown)."""
    if message.HasField("value"):
        return schemas.Metric(value=message.value, unavailable_reason=None)
    try:
        name = metric_pb2.UnavailableReason.Name(message.unavailable_reason)
    except ValueError:
        name = ""
    reason = name.removeprefix(_REASON_PREFIX)
    return schemas.Metric(
        value=None,
        unavailable_reason=cast(schemas.UnavailableReason, reason) if reason in _REASONS else None,
    )


def period(stats: analytics_pb2.PeriodStats) -> schemas.PeriodStats:
    return schemas.PeriodStats(
        start=timestamp(stats.start),
        end=timestamp(stats.end),
        posts=stats.posts,
        subscribers_start=metric(stats.subscribers_start),
        subscribers_end=metric(stats.subscribers_end),
        subscriber_growth=metric(stats.subscriber_growth),
        subscriber_growth_percent=metric(stats.subscriber_growth_percent),
        views_per_post=metric(stats.views_per_post),
        forwards_per_post=metric(stats.forwards_per_post),
        reactions_per_post=metric(stats.reactions_per_post),
        replies_per_post=metric(stats.replies_per_post),
        posts_with_samples=stats.posts_with_samples,
        err=metric(stats.err),
        err24=metric(stats.err24),
        er=metric(stats.er),
        reach_12h=metric(stats.reach_12h),
        reach_24h=metric(stats.reach_24h),
        reach_48h=metric(stats.reach_48h),
    )


def overview(response: analytics_pb2.GetChannelOverviewResponse) -> schemas.Overview:
    return schemas.Overview(
        channel_id=response.channel_id,
        title=response.title,
        data_as_of=timestamp(response.data_as_of) if response.HasField("data_as_of") else None,
        current=period(response.current),
        previous=period(response.previous),
    )


def role(value: int) -> schemas.RoleName:
    try:
        name = auth_pb2.Role.Name(value).removeprefix("ROLE_").lower()
    except ValueError:
        name = "unspecified"
    return cast(schemas.RoleName, name if name in _ROLES else "unspecified")


def channels(response: auth_pb2.ListMyChannelsResponse) -> schemas.ChannelList:
    return schemas.ChannelList(
        channels=[
            schemas.Channel(
                channel_id=c.channel_id,
                title=c.title,
                username=c.username,
                role=role(c.role),
                shared=False,
            )
            for c in response.channels
        ]
    )


def shared_channel(channel_id: int, title: str) -> schemas.ChannelList:
    """What a share token sees: its channel, read-only. The username is not known to
    analytics; the exchange response carries it."""
    return schemas.ChannelList(
        channels=[
            schemas.Channel(
                channel_id=channel_id, title=title, username="", role="viewer", shared=True
            )
        ]
    )


def exchange(response: auth_pb2.ExchangeInitDataResponse) -> schemas.ExchangeResponse:
    user = response.user
    return schemas.ExchangeResponse(
        access_token=response.access_token,
        expires_at=timestamp(response.access_token_expires_at),
        user=schemas.User(
            user_id=user.user_id,
            first_name=user.first_name,
            last_name=user.last_name,
            username=user.username,
            language_code=user.language_code,
        ),
        start_param=response.start_param,
    )
