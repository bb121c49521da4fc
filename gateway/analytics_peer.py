"""gRPC client of the analytics calls behind the channel resources (posts, series,
export, live updates, alerts); the overview and the auth calls are in ``peers``.

Unary calls carry the RPC deadline and pass the breaker and stale copies of
``resilience.AnalyticsGuard`` when one is given; the CSV export carries its own, longer
one; the live stream none (it lasts as long as the socket). Every call forwards the user's token, so
analytics authorizes on its side too. A failed unary call raises ``APIError``; streams
are returned as calls for the caller to read and cancel.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TypeVar, cast

import grpc
from google.protobuf.message import Message

from analyticbot.analytics.v1 import alerts_pb2, analytics_pb2, posts_pb2, series_pb2
from gateway.errors import from_grpc
from gateway.resilience import AnalyticsGuard

Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp", bound=Message)

_SERVICE = analytics_pb2.DESCRIPTOR.services_by_name["AnalyticsService"].full_name
CHANNEL_CODES = {grpc.StatusCode.NOT_FOUND: "CHANNEL_NOT_FOUND"}
POST_CODES = {grpc.StatusCode.NOT_FOUND: "POST_NOT_FOUND"}
RULE_CODES = {grpc.StatusCode.NOT_FOUND: "ALERT_RULE_NOT_FOUND"}

ExportCall = grpc.aio.UnaryStreamCall[
    analytics_pb2.ExportPostsCsvRequest, analytics_pb2.ExportPostsCsvResponse
]
WatchCall = grpc.aio.UnaryStreamCall[
    analytics_pb2.WatchChannelRequest, analytics_pb2.WatchChannelResponse
]


def metadata(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


PeriodRequest = (
    posts_pb2.ListPostsRequest
    | series_pb2.GetBestTimeRequest
    | series_pb2.GetSubscriberSeriesRequest
    | analytics_pb2.ListNativeStatsRequest
    | analytics_pb2.ExportPostsCsvRequest
)


def set_period(request: PeriodRequest, start: datetime | None, end: datetime | None) -> None:
    """Fill ``period_start`` / ``period_end``; unset ones take the service's default."""
    if start is not None:
        request.period_start.FromDatetime(start)
    if end is not None:
        request.period_end.FromDatetime(end)


class AnalyticsPeer:
    """The analytics calls of the channel resources."""

    def __init__(
        self,
        channel: grpc.aio.Channel,
        *,
        deadline_seconds: float,
        export_deadline_seconds: float,
        guard: AnalyticsGuard | None = None,
    ) -> None:
        self._channel = channel
        self._guard = guard
        self._deadline = deadline_seconds
        self._export_deadline = export_deadline_seconds

    async def _unary(
        self,
        name: str,
        request: Req,
        response: type[Resp],
        token: str,
        codes: Mapping[grpc.StatusCode, str] = CHANNEL_CODES,
    ) -> Resp:
        method: grpc.aio.UnaryUnaryMultiCallable[Req, Resp] = self._channel.unary_unary(
            f"/{_SERVICE}/{name}",
            request_serializer=type(request).SerializeToString,
            response_deserializer=response.FromString,
        )

        async def send() -> Resp:
            return await method(request, timeout=self._deadline, metadata=metadata(token))

        try:
            if self._guard is None:
                return await send()
            return await self._guard.call(name, request, response, send)
        except grpc.aio.AioRpcError as exc:
            raise from_grpc(exc, codes=codes) from None

    async def compare_periods(
        self, token: str, request: analytics_pb2.ComparePeriodsRequest
    ) -> analytics_pb2.ComparePeriodsResponse:
        return await self._unary(
            "ComparePeriods", request, analytics_pb2.ComparePeriodsResponse, token
        )

    async def list_posts(
        self, token: str, request: posts_pb2.ListPostsRequest
    ) -> posts_pb2.ListPostsResponse:
        return await self._unary("ListPosts", request, posts_pb2.ListPostsResponse, token)

    async def get_post(
        self, token: str, channel_id: int, message_id: int
    ) -> posts_pb2.GetPostResponse:
        request = posts_pb2.GetPostRequest(channel_id=channel_id, message_id=message_id)
        return await self._unary("GetPost", request, posts_pb2.GetPostResponse, token, POST_CODES)

    async def best_time(
        self, token: str, request: series_pb2.GetBestTimeRequest
    ) -> series_pb2.GetBestTimeResponse:
        return await self._unary("GetBestTime", request, series_pb2.GetBestTimeResponse, token)

    async def subscriber_series(
        self, token: str, request: series_pb2.GetSubscriberSeriesRequest
    ) -> series_pb2.GetSubscriberSeriesResponse:
        return await self._unary(
            "GetSubscriberSeries", request, series_pb2.GetSubscriberSeriesResponse, token
        )

    async def native_stats(
        self, token: str, request: analytics_pb2.ListNativeStatsRequest
    ) -> analytics_pb2.ListNativeStatsResponse:
        return await self._unary(
            "ListNativeStats", request, analytics_pb2.ListNativeStatsResponse, token
        )

    async def create_alert_rule(
        self, token: str, request: alerts_pb2.CreateAlertRuleRequest
    ) -> alerts_pb2.CreateAlertRuleResponse:
        return await self._unary(
            "CreateAlertRule", request, alerts_pb2.CreateAlertRuleResponse, token
        )

    async def list_alert_rules(
        self, token: str, channel_id: int
    ) -> alerts_pb2.ListAlertRulesResponse:
        request = alerts_pb2.ListAlertRulesRequest(channel_id=channel_id)
        return await self._unary(
            "ListAlertRules", request, alerts_pb2.ListAlertRulesResponse, token
        )

    async def delete_alert_rule(self, token: str, channel_id: int, rule_id: int) -> None:
        request = alerts_pb2.DeleteAlertRuleRequest(channel_id=channel_id, rule_id=rule_id)
        await self._unary(
            "DeleteAlertRule", request, alerts_pb2.DeleteAlertRuleResponse, token, RULE_CODES
        )

    async def list_alerts(
        self, token: str, request: alerts_pb2.ListAlertsRequest
    ) -> alerts_pb2.ListAlertsResponse:
        return await self._unary("ListAlerts", request, alerts_pb2.ListAlertsResponse, token)

    def export_posts_csv(
        self, token: str, request: analytics_pb2.ExportPostsCsvRequest
    ) -> ExportCall:
        """The export stream, not started until read; the caller cancels it when done."""
        method = self._channel.unary_stream(
            f"/{_SERVICE}/ExportPostsCsv",
            request_serializer=analytics_pb2.ExportPostsCsvRequest.SerializeToString,
            response_deserializer=analytics_pb2.ExportPostsCsvResponse.FromString,
        )
        call = method(request, timeout=self._export_deadline, metadata=metadata(token))
        return cast(ExportCall, call)

    def watch_channel(self, token: str, channel_id: int) -> WatchCall:
        """The live stream of a channel's overview; no deadline, cancel it to stop."""
        method = self._channel.unary_stream(
            f"/{_SERVICE}/WatchChannel",
            request_serializer=analytics_pb2.WatchChannelRequest.SerializeToString,
            response_deserializer=analytics_pb2.WatchChannelResponse.FromString,
        )
        call = method(
            analytics_pb2.WatchChannelRequest(channel_id=channel_id), metadata=metadata(token)
        )
        return cast(WatchCall, call)
