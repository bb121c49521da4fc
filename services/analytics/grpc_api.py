"""The gRPC edge of analytics: protobuf in, use case, protobuf out.

Domain errors are not handled here: the server's one interceptor
(``analyticbot.runtime.grpc_server``) maps them to status codes. Each RPC reads its
request, then acquires a connection and calls one use case, so a per-RPC authorization
check (the caller's token from the metadata) goes first in each method.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg
import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from analyticbot.analytics.v1 import analytics_pb2, analytics_pb2_grpc, metric_pb2
from services.analytics import service
from services.analytics.domain import (
    ChannelOverview,
    InvalidPeriod,
    Metric,
    PeriodStats,
    UnavailableReason,
)

SERVICE_NAME: str = analytics_pb2.DESCRIPTOR.services_by_name["AnalyticsService"].full_name

Clock = Callable[[], datetime]

_REASONS: dict[UnavailableReason, metric_pb2.UnavailableReason] = {
    UnavailableReason.NO_POSTS: metric_pb2.UNAVAILABLE_REASON_NO_POSTS,
    UnavailableReason.NO_SAMPLES: metric_pb2.UNAVAILABLE_REASON_NO_SAMPLES,
    UnavailableReason.TOO_FEW_POSTS: metric_pb2.UNAVAILABLE_REASON_TOO_FEW_POSTS,
    UnavailableReason.POST_TOO_YOUNG: metric_pb2.UNAVAILABLE_REASON_POST_TOO_YOUNG,
    UnavailableReason.ZERO_DENOMINATOR: metric_pb2.UNAVAILABLE_REASON_ZERO_DENOMINATOR,
}


def utc_now() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)


class AnalyticsServicer(analytics_pb2_grpc.AnalyticsServiceServicer):
    """``analyticbot.analytics.v1.AnalyticsService`` over a connection pool."""

    def __init__(self, pool: asyncpg.Pool, *, clock: Clock = utc_now) -> None:
        self._pool = pool
        self._clock = clock

    async def GetChannelOverview(
        self,
        request: analytics_pb2.GetChannelOverviewRequest,
        context: grpc.aio.ServicerContext[
            analytics_pb2.GetChannelOverviewRequest, analytics_pb2.GetChannelOverviewResponse
        ],
    ) -> analytics_pb2.GetChannelOverviewResponse:
        """A period's headline numbers beside the previous equal period's."""
        start = timestamp_to_datetime(request, "period_start")
        end = timestamp_to_datetime(request, "period_end")
        async with self._pool.acquire() as conn:
            overview = await service.get_channel_overview(
                conn, request.channel_id, start, end, now=self._clock()
            )
        return overview_to_proto(overview)


def register(servicer: AnalyticsServicer) -> Callable[[grpc.aio.Server], None]:
    """A registrar for ``build_server``."""
    add_servicer: Callable[[AnalyticsServicer, grpc.aio.Server], None] = (
        analytics_pb2_grpc.add_AnalyticsServiceServicer_to_server
    )

    def add(server: grpc.aio.Server) -> None:
        add_servicer(servicer, server)

    return add


def timestamp_to_datetime(
    request: analytics_pb2.GetChannelOverviewRequest, field: str
) -> datetime | None:
    """An aware UTC datetime from a Timestamp field of ``request``; None when unset."""
    if not request.HasField(field):
        return None
    stamp: Timestamp = getattr(request, field)
    try:
        return stamp.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise InvalidPeriod(f"{field} is out of range") from None


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def metric_to_proto(metric: Metric) -> metric_pb2.Metric:
    """A Metric message: its value, or no value and the reason."""
    if metric.value is not None:
        return metric_pb2.Metric(value=metric.value)
    assert metric.reason is not None
    return metric_pb2.Metric(unavailable_reason=_REASONS[metric.reason])


def period_stats_to_proto(stats: PeriodStats) -> analytics_pb2.PeriodStats:
    """A PeriodStats message from the domain's."""
    return analytics_pb2.PeriodStats(
        start=_timestamp(stats.period.start),
        end=_timestamp(stats.period.end),
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
    )


def overview_to_proto(overview: ChannelOverview) -> analytics_pb2.GetChannelOverviewResponse:
    """The GetChannelOverview response for ``overview``."""
    response = analytics_pb2.GetChannelOverviewResponse(
        channel_id=overview.channel.id,
        title=overview.channel.title,
        current=period_stats_to_proto(overview.current),
        previous=period_stats_to_proto(overview.previous),
    )
    if overview.data_as_of is not None:
        response.data_as_of.CopyFrom(_timestamp(overview.data_as_of))
    return response
