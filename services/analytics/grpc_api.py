"""The gRPC edge of analytics: protobuf in, authorization, use case, protobuf out.

Every RPC first verifies the caller's token (``authorization: Bearer``) and checks the
permission on the channel (``analyticbot.runtime.rbac``); then it acquires a connection
and calls one use case. Domain errors are not handled here: the server's one interceptor
(``analyticbot.runtime.grpc_server``) maps them to status codes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import asyncpg
import grpc
from google.protobuf.message import Message

from analyticbot.analytics.v1 import (
    alerts_pb2,
    analytics_pb2,
    analytics_pb2_grpc,
    posts_pb2,
    series_pb2,
)
from analyticbot.runtime import kept_answers
from analyticbot.runtime.errors import InvalidArgument, NotFound
from analyticbot.runtime.grant_cache import GrantCache
from analyticbot.runtime.rbac import Permission
from analyticbot.runtime.tokens import Principal
from services.analytics import alerts_repository, export, posts_service, service
from services.analytics.alerts import DEFAULT_THRESHOLDS
from services.analytics.auth import Authorizer
from services.analytics.cache import ResponseCache
from services.analytics.curve_baselines import CurveBaselines
from services.analytics.domain import Period
from services.analytics.events import EventHub
from services.analytics.live import SharedAnswers
from services.analytics.proto_mapping import (
    ALERT_KINDS,
    INGEST_KINDS,
    SORTS,
    alert_to_proto,
    best_time_to_proto,
    metric_to_proto,
    overview_to_proto,
    period_stats_to_proto,
    post_detail_to_proto,
    post_summary_to_proto,
    rule_to_proto,
    timestamp,
    timestamp_to_datetime,
)

__all__ = ["SERVICE_NAME", "AnalyticsServicer", "Clock", "metric_to_proto", "register", "utc_now"]

SERVICE_NAME: str = analytics_pb2.DESCRIPTOR.services_by_name["AnalyticsService"].full_name

Clock = Callable[[], datetime]
Context = grpc.aio.ServicerContext[Any, Any]
R = TypeVar("R", bound=Message)

THIRTY_DAYS = timedelta(days=30)
NINETY_DAYS = timedelta(days=90)


def utc_now() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)


def _page_size(requested: int, default: int, maximum: int) -> int:
    if requested < 0 or requested > maximum:
        raise InvalidArgument(f"page_size must be between 0 and {maximum}")
    return requested or default


class AnalyticsServicer(analytics_pb2_grpc.AnalyticsServiceServicer):
    """``analyticbot.analytics.v1.AnalyticsService`` over a connection pool."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        authorizer: Authorizer,
        *,
        hub: EventHub | None = None,
        cache: ResponseCache | None = None,
        grants: GrantCache | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._pool = pool
        self._auth = authorizer
        # Without a listening cache every role is read from the database.
        self._grants = grants if grants is not None else GrantCache(pool)
        self._hub = hub
        self._cache = cache
        self._clock = clock
        self.shared = SharedAnswers()
        self.curve_baselines = CurveBaselines()

    async def _allow(self, context: Context, channel_id: int, permission: Permission) -> Principal:
        """The caller, once allowed ``permission`` on the channel."""
        service.check_channel_id(channel_id)
        principal = await self._auth.caller(context.invocation_metadata())
        await self._auth.check(self._grants, principal, channel_id, permission)
        return principal

    async def _cached(
        self,
        method: str,
        channel_id: int,
        request: Message,
        response_type: type[R],
        compute: Callable[[], Awaitable[R]],
        *,
        settled: Callable[[R], bool] | None = None,
    ) -> R:
        """The cached answer, else ``compute()`` stored when ``settled`` (if given) says
        it stays right until the data changes; either shared (``_shared``) with the
        callers asking the same after the same ingest event, so a hot question costs
        one Redis lookup per ``SharedAnswers`` lifetime, not one per call.

        The lookup, the computation and the ``put`` happen in one shared task, in that
        order, so the epoch ``put`` checks was read before the computation's snapshot:
        a commit the snapshot misses bumps the epoch after it, and ``put`` then refuses,
        or the bump drops what was stored (services/analytics/cache.py)."""
        asked = request.SerializeToString(deterministic=True)
        cache = self._cache
        key = ("cached", method, asked)
        if cache is None:
            return await self._shared(key, channel_id, compute)

        async def lookup_or_compute() -> R:
            hit, epoch = await cache.get(channel_id, method, asked)
            if hit is not None:
                return response_type.FromString(hit)
            response = await compute()
            if settled is None or settled(response):
                await cache.put(channel_id, method, asked, response.SerializeToString(), epoch)
            return response

        return await self._shared(key, channel_id, lookup_or_compute)

    async def _shared(
        self, key: tuple[object, ...], channel_id: int, compute: Callable[[], Awaitable[R]]
    ) -> R:
        """``compute()``, shared with the callers asking ``key`` at the same moment and
        after the same ingest event (services/analytics/live.py); alone without a hub."""
        if self._hub is None:
            return await compute()
        return await self.shared.get(key, self._hub.generation(channel_id), compute)

    def _overview_until_now(
        self, channel_id: int
    ) -> Awaitable[analytics_pb2.GetChannelOverviewResponse]:
        return self._shared(
            ("overview", channel_id),
            channel_id,
            lambda: self._overview(channel_id, None, None),
        )

    async def _overview(
        self, channel_id: int, start: datetime | None, end: datetime | None
    ) -> analytics_pb2.GetChannelOverviewResponse:
        async with self._pool.acquire() as conn:
            overview = await service.get_channel_overview(
                conn, channel_id, start, end, now=self._clock()
            )
        return overview_to_proto(overview)

    async def GetChannelOverview(
        self, request: analytics_pb2.GetChannelOverviewRequest, context: Context
    ) -> analytics_pb2.GetChannelOverviewResponse:
        """A period's headline numbers beside the previous equal period's."""
        start = timestamp_to_datetime(request, "period_start")
        end = timestamp_to_datetime(request, "period_end")
        await self._allow(context, request.channel_id, Permission.VIEW_ANALYTICS)

        def compute() -> Awaitable[analytics_pb2.GetChannelOverviewResponse]:
            return self._overview(request.channel_id, start, end)

        if end is None:
            if start is None:
                # "Until now" moves with the clock, so it is not cached in Redis; the
                # callers of one moment share one computation instead.
                return await self._overview_until_now(request.channel_id)
            return await compute()
        return await self._cached(
            "overview",
            request.channel_id,
            request,
            analytics_pb2.GetChannelOverviewResponse,
            compute,
        )

    async def ComparePeriods(
        self, request: analytics_pb2.ComparePeriodsRequest, context: Context
    ) -> analytics_pb2.ComparePeriodsResponse:
        """Two periods side by side."""
        periods = []
        for prefix in ("first", "second"):
            start = timestamp_to_datetime(request, f"{prefix}_start")
            end = timestamp_to_datetime(request, f"{prefix}_end")
            if start is None or end is None:
                raise InvalidArgument(f"{prefix}_start and {prefix}_end are required")
            periods.append(Period(start, end))
        await self._allow(context, request.channel_id, Permission.VIEW_ANALYTICS)
        async with self._pool.acquire() as conn:
            result = await service.compare_periods(conn, request.channel_id, *periods)
        return analytics_pb2.ComparePeriodsResponse(
            first=period_stats_to_proto(*result.first),
            second=period_stats_to_proto(*result.second),
        )

    def _period(self, request: Message, default: timedelta) -> Period:
        start = timestamp_to_datetime(request, "period_start")
        end = timestamp_to_datetime(request, "period_end")
        now = self._clock()
        end = end if end is not None else now
        return Period.resolve(start if start is not None else end - default, end, now)

    async def ListPosts(
        self, request: posts_pb2.ListPostsRequest, context: Context
    ) -> posts_pb2.ListPostsResponse:
        """One page of posts with their metrics."""
        period = self._period(request, THIRTY_DAYS)
        size = _page_size(request.page_size, 50, 200)
        sort = SORTS.get(request.sort)
        if sort is None:
            raise InvalidArgument("unknown sort")
        await self._allow(context, request.channel_id, Permission.VIEW_ANALYTICS)

        async def compute() -> posts_pb2.ListPostsResponse:
            async with self._pool.acquire() as conn:
                page = await posts_service.list_posts(
                    conn,
                    request.channel_id,
                    period,
                    now=self._clock(),
                    sort=sort,
                    ascending=request.ascending,
                    media_types=list(request.media_types),
                    page_size=size,
                    page_token=request.page_token,
                )
            return posts_pb2.ListPostsResponse(
                posts=[post_summary_to_proto(p) for p in page.posts],
                next_page_token=page.next_token,
                total=page.total,
            )

        # Counters are the latest at "now" even for a closed period: shared, not cached.
        key = ("posts", request.SerializeToString(deterministic=True))
        return await self._shared(key, request.channel_id, compute)

    async def GetPost(
        self, request: posts_pb2.GetPostRequest, context: Context
    ) -> posts_pb2.GetPostResponse:
        """A post in detail."""
        await self._allow(context, request.channel_id, Permission.VIEW_ANALYTICS)

        async def compute() -> posts_pb2.GetPostResponse:
            async with self._pool.acquire() as conn:
                detail = await posts_service.get_post(
                    conn,
                    request.channel_id,
                    request.message_id,
                    now=self._clock(),
                    baselines=self.curve_baselines,
                )
            return post_detail_to_proto(detail)

        # Once no reach waits for the post to age, the answer holds until the channel's
        # next ingest event (analyticbot.runtime.kept_answers); while young, it is shared.
        return await self._cached(
            "post",
            request.channel_id,
            request,
            posts_pb2.GetPostResponse,
            compute,
            settled=kept_answers.post_settled,
        )

    async def GetBestTime(
        self, request: series_pb2.GetBestTimeRequest, context: Context
    ) -> series_pb2.GetBestTimeResponse:
        """The best-time heatmap."""
        period = self._period(request, NINETY_DAYS)
        await self._allow(context, request.channel_id, Permission.VIEW_ANALYTICS)

        async def compute() -> series_pb2.GetBestTimeResponse:
            async with self._pool.acquire() as conn:
                zone, slots = await posts_service.get_best_time(conn, request.channel_id, period)
            return best_time_to_proto(zone, slots)

        if not request.HasField("period_end"):
            key = ("best_time", request.SerializeToString(deterministic=True))
            return await self._shared(key, request.channel_id, compute)
        return await self._cached(
            "best_time", request.channel_id, request, series_pb2.GetBestTimeResponse, compute
        )

    async def GetSubscriberSeries(
        self, request: series_pb2.GetSubscriberSeriesRequest, context: Context
    ) -> series_pb2.GetSubscriberSeriesResponse:
        """subscribers(t) at regular steps."""
        period = self._period(request, THIRTY_DAYS)
        hourly = {
            series_pb2.GRANULARITY_HOUR: True,
            series_pb2.GRANULARITY_DAY: False,
        }.get(request.granularity)
        step = service.series_step(period, hourly)
        await self._allow(context, request.channel_id, Permission.VIEW_ANALYTICS)
        async with self._pool.acquire() as conn:
            points = await service.subscriber_series(conn, request.channel_id, period, step)
        return series_pb2.GetSubscriberSeriesResponse(
            granularity=(
                series_pb2.GRANULARITY_HOUR
                if step == timedelta(hours=1)
                else series_pb2.GRANULARITY_DAY
            ),
            points=[
                series_pb2.SubscriberPoint(at=timestamp(at), subscribers=metric_to_proto(m))
                for at, m in points
            ],
        )

    async def ListNativeStats(
        self, request: analytics_pb2.ListNativeStatsRequest, context: Context
    ) -> analytics_pb2.ListNativeStatsResponse:
        """The native statistics history."""
        period = self._period(request, THIRTY_DAYS)
        size = _page_size(request.page_size, 100, 500)
        await self._allow(context, request.channel_id, Permission.VIEW_ANALYTICS)
        async with self._pool.acquire() as conn:
            entries = await service.native_stats(conn, request.channel_id, period, size)
        return analytics_pb2.ListNativeStatsResponse(
            entries=[
                analytics_pb2.NativeStats(
                    collected_at=timestamp(entry.collected_at),
                    period=entry.period,
                    payload_json=entry.payload_json,
                )
                for entry in entries
            ]
        )

    async def ExportPostsCsv(
        self, request: analytics_pb2.ExportPostsCsvRequest, context: Context
    ) -> AsyncIterator[analytics_pb2.ExportPostsCsvResponse]:
        """The posts of a period as CSV chunks."""
        period = self._period(request, THIRTY_DAYS)
        await self._allow(context, request.channel_id, Permission.EXPORT_DATA)
        async with self._pool.acquire() as conn:
            async for chunk in export.export_posts_csv(
                conn, request.channel_id, period, now=self._clock()
            ):
                yield analytics_pb2.ExportPostsCsvResponse(chunk=chunk)

    async def WatchChannel(
        self, request: analytics_pb2.WatchChannelRequest, context: Context
    ) -> AsyncIterator[analytics_pb2.WatchChannelResponse]:
        """The overview now, then again after every ingest of the channel."""
        await self._allow(context, request.channel_id, Permission.VIEW_ANALYTICS)
        if self._hub is None:
            raise NotFound("live updates are not served by this instance")
        async with self._hub.subscribe(request.channel_id) as events:
            overview = await self._overview_until_now(request.channel_id)
            yield analytics_pb2.WatchChannelResponse(
                kind=analytics_pb2.INGEST_KIND_INITIAL, overview=overview
            )
            while True:
                event = await events.get()
                while not events.empty():  # a burst of commits: one fresh overview
                    event = events.get_nowait()
                overview = await self._overview_until_now(request.channel_id)
                yield analytics_pb2.WatchChannelResponse(
                    kind=INGEST_KINDS.get(event.kind, analytics_pb2.INGEST_KIND_UNSPECIFIED),
                    event_at=timestamp(event.at),
                    overview=overview,
                )

    async def CreateAlertRule(
        self, request: alerts_pb2.CreateAlertRuleRequest, context: Context
    ) -> alerts_pb2.CreateAlertRuleResponse:
        """Add a rule of the caller."""
        kind = ALERT_KINDS.get(request.kind)
        if kind is None:
            raise InvalidArgument("kind is required")
        threshold = request.threshold if request.HasField("threshold") else DEFAULT_THRESHOLDS[kind]
        if not threshold > 0:
            raise InvalidArgument("threshold must be positive")
        principal = await self._allow(context, request.channel_id, Permission.MANAGE_ALERTS)
        user_id = Authorizer.user_id(principal)
        async with self._pool.acquire() as conn:
            rule = await alerts_repository.create_rule(
                conn, user_id, request.channel_id, kind, threshold
            )
        return alerts_pb2.CreateAlertRuleResponse(rule=rule_to_proto(rule))

    async def ListAlertRules(
        self, request: alerts_pb2.ListAlertRulesRequest, context: Context
    ) -> alerts_pb2.ListAlertRulesResponse:
        """The caller's rules on the channel."""
        principal = await self._allow(context, request.channel_id, Permission.VIEW_ANALYTICS)
        user_id = Authorizer.user_id(principal)
        async with self._pool.acquire() as conn:
            rules = await alerts_repository.user_rules(conn, user_id, request.channel_id)
        return alerts_pb2.ListAlertRulesResponse(rules=[rule_to_proto(r) for r in rules])

    async def DeleteAlertRule(
        self, request: alerts_pb2.DeleteAlertRuleRequest, context: Context
    ) -> alerts_pb2.DeleteAlertRuleResponse:
        """Remove a rule of the caller."""
        principal = await self._allow(context, request.channel_id, Permission.MANAGE_ALERTS)
        user_id = Authorizer.user_id(principal)
        async with self._pool.acquire() as conn:
            deleted = await alerts_repository.delete_rule(
                conn, user_id, request.channel_id, request.rule_id
            )
        if not deleted:
            raise NotFound(f"alert rule {request.rule_id} not found")
        return alerts_pb2.DeleteAlertRuleResponse()

    async def ListAlerts(
        self, request: alerts_pb2.ListAlertsRequest, context: Context
    ) -> alerts_pb2.ListAlertsResponse:
        """The caller's alerts on the channel, newest first."""
        size = _page_size(request.page_size, 50, 200)
        principal = await self._allow(context, request.channel_id, Permission.VIEW_ANALYTICS)
        user_id = Authorizer.user_id(principal)
        async with self._pool.acquire() as conn:
            alerts = await alerts_repository.user_alerts(
                conn, user_id, request.channel_id, request.before_sequence, size
            )
        return alerts_pb2.ListAlertsResponse(alerts=[alert_to_proto(a) for a in alerts])


def register(servicer: AnalyticsServicer) -> Callable[[grpc.aio.Server], None]:
    """A registrar for ``build_server``."""
    add_servicer: Callable[[AnalyticsServicer, grpc.aio.Server], None] = (
        analytics_pb2_grpc.add_AnalyticsServiceServicer_to_server
    )

    def add(server: grpc.aio.Server) -> None:
        add_servicer(servicer, server)

    return add
