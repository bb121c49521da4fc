"""gRPC clients of the bot's peers (auth, collector, analytics).

Every call carries a deadline and the bot's service token (``CachedToken``, fetched from
the auth service with the bot's pre-shared secret and renewed before it expires).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from analyticbot.analytics.v1 import analytics_pb2, analytics_pb2_grpc, series_pb2
from analyticbot.auth.v1 import auth_pb2, auth_pb2_grpc
from analyticbot.collector.v1 import collector_pb2, collector_pb2_grpc
from analyticbot.runtime.tokens import CachedToken


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


@dataclass(frozen=True)
class Admin:
    """A human administrator of a channel."""

    user_id: int
    first_name: str
    last_name: str
    username: str
    is_creator: bool


class Peers:
    """The calls the bot makes to other services."""

    def __init__(
        self,
        *,
        auth_addr: str,
        collector_addr: str,
        analytics_addr: str,
        service_name: str,
        service_secret: str,
        deadline_seconds: float = 10.0,
    ) -> None:
        self._channels = [
            grpc.aio.insecure_channel(addr) for addr in (auth_addr, collector_addr, analytics_addr)
        ]
        auth, collector, analytics = self._channels
        self._auth = auth_pb2_grpc.AuthServiceStub(auth)
        self._collector = collector_pb2_grpc.CollectorServiceStub(collector)
        self._analytics = analytics_pb2_grpc.AnalyticsServiceStub(analytics)
        self._deadline = deadline_seconds
        self._name = service_name
        self._secret = service_secret
        self._token = CachedToken(self._fetch_token)

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close()

    async def _fetch_token(self) -> tuple[str, int]:
        request = auth_pb2.IssueServiceTokenRequest(service=self._name, secret=self._secret)
        response = await self._auth.IssueServiceToken(request, timeout=self._deadline)
        return response.access_token, int(response.expires_at.seconds)

    async def track_channel(self, channel_id: int, username: str) -> collector_pb2.Channel:
        """Register the channel with the collector (a no-op when tracked; resumes it)."""
        request = collector_pb2.TrackChannelRequest(reference=username or str(channel_id))
        response = await self._collector.TrackChannel(
            request, metadata=await self._token.metadata(), timeout=self._deadline
        )
        return response.channel

    async def set_paused(self, channel_id: int, paused: bool, reason: str) -> None:
        request = collector_pb2.SetChannelPausedRequest(
            channel_id=channel_id, paused=paused, reason=reason
        )
        await self._collector.SetChannelPaused(
            request, metadata=await self._token.metadata(), timeout=self._deadline
        )

    async def sync_admins(
        self, channel_id: int, admins: Sequence[Admin], added_by: int = 0
    ) -> auth_pb2.SyncChannelAdminsResponse:
        request = auth_pb2.SyncChannelAdminsRequest(
            channel_id=channel_id,
            admins=[
                auth_pb2.ChannelAdmin(
                    user_id=a.user_id,
                    first_name=a.first_name,
                    last_name=a.last_name,
                    username=a.username,
                    is_creator=a.is_creator,
                )
                for a in admins
            ],
            added_by_user_id=added_by,
        )
        return await self._auth.SyncChannelAdmins(
            request, metadata=await self._token.metadata(), timeout=self._deadline
        )

    async def user_channels(self, user_id: int) -> list[auth_pb2.ChannelAccess]:
        request = auth_pb2.ListUserChannelsRequest(user_id=user_id)
        response = await self._auth.ListUserChannels(
            request, metadata=await self._token.metadata(), timeout=self._deadline
        )
        return list(response.channels)

    async def overview(
        self, channel_id: int, start: datetime, end: datetime
    ) -> analytics_pb2.GetChannelOverviewResponse:
        request = analytics_pb2.GetChannelOverviewRequest(
            channel_id=channel_id, period_start=_timestamp(start), period_end=_timestamp(end)
        )
        return await self._analytics.GetChannelOverview(
            request, metadata=await self._token.metadata(), timeout=self._deadline
        )

    async def subscriber_series(
        self, channel_id: int, start: datetime, end: datetime
    ) -> list[series_pb2.SubscriberPoint]:
        request = series_pb2.GetSubscriberSeriesRequest(
            channel_id=channel_id,
            period_start=_timestamp(start),
            period_end=_timestamp(end),
            granularity=series_pb2.GRANULARITY_UNSPECIFIED,
        )
        response = await self._analytics.GetSubscriberSeries(
            request, metadata=await self._token.metadata(), timeout=self._deadline
        )
        return list(response.points)
