"""A fake analytics service at the transport seam: every RPC the gateway calls, with
fixed data, authorizing the forwarded token itself (a denied subject gets
PERMISSION_DENIED even where auth allowed, as the real service would)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from analyticbot.analytics.v1 import (
    alerts_pb2,
    analytics_pb2,
    analytics_pb2_grpc,
    metric_pb2,
    posts_pb2,
    series_pb2,
)
from analyticbot.runtime.errors import InvalidArgument, NotFound, PermissionDenied
from analyticbot.runtime.tokens import Principal
from tests.integration.gateway.fake_data import (
    CHANNEL_ID,
    PERIOD_END,
    VIEWER_ONLY_CHANNEL_ID,
    VIRAL_POST_ID,
    PeerLog,
    missing,
    period_stats,
    value,
    viral_post,
    young_post,
)

KNOWN_CHANNELS = (CHANNEL_ID, VIEWER_ONLY_CHANNEL_ID)
SECOND_PAGE = "page-2"
TOO_FEW = missing(metric_pb2.UNAVAILABLE_REASON_TOO_FEW_POSTS)
SHARE_READS = frozenset(
    {
        "GetChannelOverview",
        "ComparePeriods",
        "ListPosts",
        "GetPost",
        "GetBestTime",
        "GetSubscriberSeries",
        "ListNativeStats",
        "WatchChannel",
    }
)


def _period(request: Any, default: timedelta) -> tuple[datetime, datetime]:
    end = request.period_end.ToDatetime(UTC) if request.HasField("period_end") else PERIOD_END
    start = request.period_start.ToDatetime(UTC) if request.HasField("period_start") else None
    return (start or end - default), end


def overview(channel_id: int, start: datetime, end: datetime) -> Any:
    response = analytics_pb2.GetChannelOverviewResponse(
        channel_id=channel_id,
        title="Test channel",
        current=period_stats(start, end, empty=False),
        previous=period_stats(start - (end - start), start, empty=True),
    )
    response.data_as_of.FromDatetime(end - timedelta(minutes=5))
    return response


class FakeAnalytics(analytics_pb2_grpc.AnalyticsServiceServicer):
    """One known channel with fixed numbers; the previous period has no posts."""

    def __init__(
        self,
        log: PeerLog,
        verify: Callable[[str], Principal],
        require_live_link: Callable[[Principal], None],
    ) -> None:
        self.log = log
        self.verify = verify
        self.require_live_link = require_live_link
        self.requests: list[Any] = []
        self.denied_subjects: set[str] = set()
        # The export yields export_chunks chunks; the last waits for export_gate.
        self.export_chunks = 3
        self.export_gate = asyncio.Event()
        self.export_gate.set()
        self.export_produced = 0
        # One queue per open WatchChannel stream; put an IngestKind to push an update.
        self.watchers: list[asyncio.Queue[Any]] = []
        # GetChannelOverview waits for overview_gate, then names the channel
        # overview_title when one is set (to tell one call's answer from another's).
        self.overview_gate = asyncio.Event()
        self.overview_gate.set()
        self.overview_title: str | None = None
        # GetPost answers with a post too young for its reaches when set.
        self.post_young = False
        self.rules: dict[int, alerts_pb2.AlertRule] = {}
        self._next_rule_id = 1

    def _authorize(self, method: str, request: Any, context: Any) -> Principal:
        principal = self.verify(self.log.record(method, context))
        self.requests.append(request)
        if principal.subject in self.denied_subjects:
            raise PermissionDenied("the viewer role may not do this")
        if principal.kind == "share":
            # rbac.authorize: its own channel's reads only, and only while the link lives.
            if principal.channel_id != request.channel_id or method not in SHARE_READS:
                raise NotFound("channel not found")
            self.require_live_link(principal)
        if request.channel_id not in KNOWN_CHANNELS:
            raise NotFound(f"channel {request.channel_id} not found")
        return principal

    async def GetChannelOverview(self, request: Any, context: Any) -> Any:
        self._authorize("GetChannelOverview", request, context)
        title = self.overview_title
        await self.overview_gate.wait()
        start, end = _period(request, timedelta(days=7))
        answer = overview(request.channel_id, start, end)
        if title is not None:
            answer.title = title
        return answer

    async def ComparePeriods(self, request: Any, context: Any) -> Any:
        self._authorize("ComparePeriods", request, context)
        return analytics_pb2.ComparePeriodsResponse(
            first=period_stats(
                request.first_start.ToDatetime(UTC), request.first_end.ToDatetime(UTC), empty=False
            ),
            second=period_stats(
                request.second_start.ToDatetime(UTC), request.second_end.ToDatetime(UTC), empty=True
            ),
        )

    async def ListPosts(self, request: Any, context: Any) -> Any:
        self._authorize("ListPosts", request, context)
        if request.page_token not in ("", SECOND_PAGE):
            raise InvalidArgument("the page token is invalid for this request")
        posts = [viral_post(), young_post()]
        if request.media_types:
            posts = [p for p in posts if p.media_type in request.media_types]
        offset = 1 if request.page_token == SECOND_PAGE else 0
        size = request.page_size or 50
        page = posts[offset : offset + size]
        more = offset + size < len(posts)
        return posts_pb2.ListPostsResponse(
            posts=page, next_page_token=SECOND_PAGE if more else "", total=len(posts)
        )

    async def GetPost(self, request: Any, context: Any) -> Any:
        self._authorize("GetPost", request, context)
        if request.message_id != VIRAL_POST_ID:
            raise NotFound(f"post {request.message_id} not found")
        return posts_pb2.GetPostResponse(
            post=young_post() if self.post_young else viral_post(),
            view_curve=[
                posts_pb2.ViewSample(age_seconds=0, views=0),
                posts_pb2.ViewSample(age_seconds=3600, views=410),
                posts_pb2.ViewSample(age_seconds=86400, views=2000),
            ],
            channel_median_curve=[
                posts_pb2.CurvePoint(age_seconds=3600, views=value(300), posts=12),
                posts_pb2.CurvePoint(age_seconds=604800, views=TOO_FEW, posts=2),
            ],
            reactions=[
                posts_pb2.ReactionCount(emoji="👍", count=120),
                posts_pb2.ReactionCount(emoji="5368324170671202286", count=48),
            ],
        )

    async def GetBestTime(self, request: Any, context: Any) -> Any:
        self._authorize("GetBestTime", request, context)
        slots = [
            series_pb2.BestTimeSlot(
                weekday=day,
                hour=hour,
                posts=4 if (day, hour) == (1, 9) else 1,
                score=value(2.5) if (day, hour) == (1, 9) else TOO_FEW,
            )
            for day in range(1, 8)
            for hour in range(24)
        ]
        return series_pb2.GetBestTimeResponse(time_zone="Europe/Berlin", slots=slots)

    async def GetSubscriberSeries(self, request: Any, context: Any) -> Any:
        self._authorize("GetSubscriberSeries", request, context)
        start, end = _period(request, timedelta(days=30))
        hourly = request.granularity == series_pb2.GRANULARITY_HOUR
        step = timedelta(hours=1) if hourly else timedelta(days=1)
        points: list[series_pb2.SubscriberPoint] = []
        at, first = start, True
        while at < end and len(points) < 800:
            point = series_pb2.SubscriberPoint(
                subscribers=missing(metric_pb2.UNAVAILABLE_REASON_NO_SAMPLES)
                if first
                else value(1000 + len(points))
            )
            point.at.FromDatetime(at)
            points.append(point)
            at, first = at + step, False
        return series_pb2.GetSubscriberSeriesResponse(
            granularity=series_pb2.GRANULARITY_HOUR if hourly else series_pb2.GRANULARITY_DAY,
            points=points,
        )

    async def ListNativeStats(self, request: Any, context: Any) -> Any:
        self._authorize("ListNativeStats", request, context)
        entry = analytics_pb2.NativeStats(
            period="2025-03-01/2025-03-08",
            payload_json=json.dumps({"followers": {"current": 1100, "previous": 1000}}),
        )
        entry.collected_at.FromDatetime(PERIOD_END - timedelta(hours=1))
        return analytics_pb2.ListNativeStatsResponse(entries=[entry][: request.page_size or 100])

    async def ExportPostsCsv(self, request: Any, context: Any) -> AsyncIterator[Any]:
        self._authorize("ExportPostsCsv", request, context)
        self.export_produced = 0
        yield analytics_pb2.ExportPostsCsvResponse(chunk=b"message_id,views\n")
        self.export_produced += 1
        for index in range(1, self.export_chunks):
            if index == self.export_chunks - 1:
                await self.export_gate.wait()
            yield analytics_pb2.ExportPostsCsvResponse(chunk=f"{index},{index * 10}\n".encode())
            self.export_produced += 1

    async def WatchChannel(self, request: Any, context: Any) -> AsyncIterator[Any]:
        self._authorize("WatchChannel", request, context)
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self.watchers.append(queue)
        try:
            start = PERIOD_END - timedelta(days=7)
            yield analytics_pb2.WatchChannelResponse(
                kind=analytics_pb2.INGEST_KIND_INITIAL,
                overview=overview(request.channel_id, start, PERIOD_END),
            )
            while True:
                kind = await queue.get()
                message = analytics_pb2.WatchChannelResponse(
                    kind=kind, overview=overview(request.channel_id, start, PERIOD_END)
                )
                message.overview.current.posts = 15
                message.event_at.FromDatetime(PERIOD_END)
                yield message
        finally:
            self.watchers.remove(queue)

    async def CreateAlertRule(self, request: Any, context: Any) -> Any:
        self._authorize("CreateAlertRule", request, context)
        rule = alerts_pb2.AlertRule(
            rule_id=self._next_rule_id,
            channel_id=request.channel_id,
            kind=request.kind,
            threshold=request.threshold if request.HasField("threshold") else 5.0,
        )
        rule.created_at.FromDatetime(PERIOD_END)
        self.rules[rule.rule_id] = rule
        self._next_rule_id += 1
        return alerts_pb2.CreateAlertRuleResponse(rule=rule)

    async def ListAlertRules(self, request: Any, context: Any) -> Any:
        self._authorize("ListAlertRules", request, context)
        rules = [r for r in self.rules.values() if r.channel_id == request.channel_id]
        return alerts_pb2.ListAlertRulesResponse(rules=rules)

    async def DeleteAlertRule(self, request: Any, context: Any) -> Any:
        self._authorize("DeleteAlertRule", request, context)
        rule = self.rules.get(request.rule_id)
        if rule is None or rule.channel_id != request.channel_id:
            raise NotFound(f"alert rule {request.rule_id} not found")
        del self.rules[request.rule_id]
        return alerts_pb2.DeleteAlertRuleResponse()

    async def ListAlerts(self, request: Any, context: Any) -> Any:
        self._authorize("ListAlerts", request, context)
        alerts = []
        for sequence in (3, 2, 1):
            if request.before_sequence and sequence >= request.before_sequence:
                continue
            alert = alerts_pb2.Alert(
                alert_id=f"rule1:post{sequence}",
                sequence=sequence,
                rule_id=1,
                kind=alerts_pb2.ALERT_KIND_POST_VIRAL
                if sequence != 1
                else alerts_pb2.ALERT_KIND_SUBSCRIBER_DROP,
                channel_id=request.channel_id,
                message_id=VIRAL_POST_ID if sequence != 1 else 0,
                text=f"Alert {sequence}",
                data_json=json.dumps({"performance_index": 2.5}),
                deep_link=f"channel_{request.channel_id}_post_{VIRAL_POST_ID}",
            )
            alert.created_at.FromDatetime(PERIOD_END - timedelta(hours=sequence))
            alerts.append(alert)
        return alerts_pb2.ListAlertsResponse(alerts=alerts[: request.page_size or 50])
