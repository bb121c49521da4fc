"""Fakes of the gateway's peers at the transport seam: servicers that implement the auth
and analytics protos with fixed data, record the metadata they receive and authorize the
forwarded token themselves. They run in real ``grpc.aio`` servers on port 0.

The real services are tested on their own; a full-stack test covers them together.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import grpc

from analyticbot.analytics.v1 import analytics_pb2, analytics_pb2_grpc, metric_pb2
from analyticbot.auth.v1 import auth_pb2, auth_pb2_grpc
from analyticbot.runtime.errors import InvalidArgument, NotFound, Unauthenticated
from analyticbot.runtime.grpc_server import GrpcServer, build_server
from analyticbot.runtime.initdata import hmac_hash
from analyticbot.runtime.tokens import SigningKey, TokenSigner, TokenVerifier, bearer

BOT_TOKEN = "123456:dev-bot-token-for-tests"
USER_ID = 1_000_001
OTHER_USER_ID = 2_000_002
CHANNEL_ID = -1001234567890
VIEWER_ONLY_CHANNEL_ID = -1009999
UNKNOWN_CHANNEL_ID = -1005555
PERIOD_END = datetime(2025, 3, 8, tzinfo=UTC)
AUTH_SERVICE = "analyticbot.auth.v1.AuthService"
ANALYTICS_SERVICE = "analyticbot.analytics.v1.AnalyticsService"

# user → channel → role; VIEWER_ONLY_CHANNEL_ID exists but USER_ID has a role too low
# to pass the fake's permission check (it requires "analyst" for the test's sake).
GRANTS: dict[int, dict[int, auth_pb2.Role]] = {
    USER_ID: {CHANNEL_ID: auth_pb2.ROLE_OWNER, VIEWER_ONLY_CHANNEL_ID: auth_pb2.ROLE_VIEWER},
}
MINIMUM_ROLE = {CHANNEL_ID: auth_pb2.ROLE_VIEWER, VIEWER_ONLY_CHANNEL_ID: auth_pb2.ROLE_ANALYST}


@dataclass
class PeerLog:
    """What the fakes saw: the bearer token of every call, by method."""

    tokens: dict[str, list[str]] = field(default_factory=dict)
    jwks_fetches: int = 0

    def record(self, method: str, context: Any) -> str:
        token = bearer(context.invocation_metadata() or ())
        self.tokens.setdefault(method, []).append(token)
        return token


class NotUsed:
    """The RPCs the gateway never calls answer UNIMPLEMENTED."""

    async def _not_used(self, context: Any) -> Any:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not used by the gateway")


class FakeAuth(NotUsed, auth_pb2_grpc.AuthServiceServicer):
    """Validates initData with the Telegram HMAC rule and issues real EdDSA tokens."""

    def __init__(self, log: PeerLog) -> None:
        self.log = log
        self.signer = TokenSigner([SigningKey.generate()])

    def rotate(self) -> None:
        self.signer = TokenSigner([SigningKey.generate()])

    def _user(self, context: Any, method: str) -> int:
        token = self.log.record(method, context)
        principal = TokenVerifier(self.signer.jwks()).verify(token)
        assert principal.user_id is not None
        return principal.user_id

    async def ExchangeInitData(
        self, request: Any, context: Any
    ) -> auth_pb2.ExchangeInitDataResponse:
        try:
            fields = dict(parse_qsl(request.init_data, strict_parsing=True))
        except ValueError:
            raise InvalidArgument("initData is not a query string") from None
        given = fields.pop("hash", "")
        if not hmac.compare_digest(given, hmac_hash(fields, BOT_TOKEN)):
            raise Unauthenticated("initData signature is invalid")
        user_id = int(json.loads(fields["user"])["id"])
        token, expires = self.signer.issue("access", str(user_id), 900)
        response = auth_pb2.ExchangeInitDataResponse(
            access_token=token,
            user=auth_pb2.TelegramUser(user_id=user_id, first_name="Dev", language_code="en"),
            start_param=fields.get("start_param", ""),
        )
        response.access_token_expires_at.FromSeconds(expires)
        return response

    async def GetJwks(self, request: Any, context: Any) -> auth_pb2.GetJwksResponse:
        self.log.jwks_fetches += 1
        return auth_pb2.GetJwksResponse(jwks_json=json.dumps(self.signer.jwks()))

    async def ListMyChannels(self, request: Any, context: Any) -> auth_pb2.ListMyChannelsResponse:
        user_id = self._user(context, "ListMyChannels")
        return auth_pb2.ListMyChannelsResponse(
            channels=[
                auth_pb2.ChannelAccess(channel_id=cid, title=f"Channel {cid}", role=role)
                for cid, role in GRANTS.get(user_id, {}).items()
            ]
        )

    async def CheckAccess(self, request: Any, context: Any) -> auth_pb2.CheckAccessResponse:
        user_id = self._user(context, "CheckAccess")
        assert request.permission == "view_analytics"
        role = GRANTS.get(user_id, {}).get(request.channel_id, auth_pb2.ROLE_UNSPECIFIED)
        allowed = role != auth_pb2.ROLE_UNSPECIFIED and role >= MINIMUM_ROLE[request.channel_id]
        return auth_pb2.CheckAccessResponse(allowed=allowed, role=role)

    async def RefreshTokens(self, request: Any, context: Any) -> Any:
        return await self._not_used(context)

    async def RevokeRefreshToken(self, request: Any, context: Any) -> Any:
        return await self._not_used(context)

    async def IssueServiceToken(self, request: Any, context: Any) -> Any:
        return await self._not_used(context)

    async def AcceptInvite(self, request: Any, context: Any) -> Any:
        return await self._not_used(context)

    async def CreateInvite(self, request: Any, context: Any) -> Any:
        return await self._not_used(context)

    async def ListInvites(self, request: Any, context: Any) -> Any:
        return await self._not_used(context)

    async def ListMembers(self, request: Any, context: Any) -> Any:
        return await self._not_used(context)

    async def ListUserChannels(self, request: Any, context: Any) -> Any:
        return await self._not_used(context)

    async def RevokeGrant(self, request: Any, context: Any) -> Any:
        return await self._not_used(context)

    async def RevokeInvite(self, request: Any, context: Any) -> Any:
        return await self._not_used(context)

    async def SyncChannelAdmins(self, request: Any, context: Any) -> Any:
        return await self._not_used(context)


def _value(value: float) -> metric_pb2.Metric:
    return metric_pb2.Metric(value=value)


def _missing(reason: metric_pb2.UnavailableReason) -> metric_pb2.Metric:
    return metric_pb2.Metric(unavailable_reason=reason)


def period_stats(start: datetime, end: datetime, *, empty: bool) -> analytics_pb2.PeriodStats:
    stats = analytics_pb2.PeriodStats(
        subscribers_start=_value(1000),
        subscribers_end=_value(1100),
        subscriber_growth=_value(100),
        subscriber_growth_percent=_value(10.0),
        posts=0 if empty else 14,
        posts_with_samples=0 if empty else 14,
    )
    for name, value in (
        ("views_per_post", 812.5),
        ("forwards_per_post", 3.25),
        ("reactions_per_post", 40.0),
        ("replies_per_post", 1.5),
    ):
        getattr(stats, name).CopyFrom(
            _missing(metric_pb2.UNAVAILABLE_REASON_NO_POSTS) if empty else _value(value)
        )
    stats.start.FromDatetime(start)
    stats.end.FromDatetime(end)
    return stats


class FakeAnalytics(NotUsed, analytics_pb2_grpc.AnalyticsServiceServicer):
    """One known channel with fixed numbers; the previous period has no posts."""

    def __init__(self, log: PeerLog, auth: FakeAuth) -> None:
        self.log = log
        self.auth = auth
        self.requests: list[analytics_pb2.GetChannelOverviewRequest] = []

    async def GetChannelOverview(
        self, request: Any, context: Any
    ) -> analytics_pb2.GetChannelOverviewResponse:
        token = self.log.record("GetChannelOverview", context)
        TokenVerifier(self.auth.signer.jwks()).verify(token)
        self.requests.append(request)
        if request.channel_id not in (CHANNEL_ID, VIEWER_ONLY_CHANNEL_ID):
            raise NotFound(f"channel {request.channel_id} not found")
        end = request.period_end.ToDatetime(UTC) if request.HasField("period_end") else PERIOD_END
        start = (
            request.period_start.ToDatetime(UTC)
            if request.HasField("period_start")
            else end - timedelta(days=7)
        )
        response = analytics_pb2.GetChannelOverviewResponse(
            channel_id=request.channel_id,
            title="Test channel",
            current=period_stats(start, end, empty=False),
            previous=period_stats(start - (end - start), start, empty=True),
        )
        response.data_as_of.FromDatetime(end - timedelta(minutes=5))
        return response

    async def ComparePeriods(self, request: Any, context: Any) -> Any:
        return await self._not_used(context)

    async def CreateAlertRule(self, request: Any, context: Any) -> Any:
        return await self._not_used(context)

    async def DeleteAlertRule(self, request: Any, context: Any) -> Any:
        return await self._not_used(context)

    async def ExportPostsCsv(self, request: Any, context: Any) -> AsyncIterator[Any]:
        await self._not_used(context)
        yield None  # pragma: no cover - abort raises first

    async def GetBestTime(self, request: Any, context: Any) -> Any:
        return await self._not_used(context)

    async def GetPost(self, request: Any, context: Any) -> Any:
        return await self._not_used(context)

    async def GetSubscriberSeries(self, request: Any, context: Any) -> Any:
        return await self._not_used(context)

    async def ListAlertRules(self, request: Any, context: Any) -> Any:
        return await self._not_used(context)

    async def ListAlerts(self, request: Any, context: Any) -> Any:
        return await self._not_used(context)

    async def ListNativeStats(self, request: Any, context: Any) -> Any:
        return await self._not_used(context)

    async def ListPosts(self, request: Any, context: Any) -> Any:
        return await self._not_used(context)

    async def WatchChannel(self, request: Any, context: Any) -> AsyncIterator[Any]:
        await self._not_used(context)
        yield None  # pragma: no cover - abort raises first


@dataclass
class Peers:
    auth: FakeAuth
    analytics: FakeAnalytics
    log: PeerLog
    auth_server: GrpcServer
    analytics_server: GrpcServer

    def token(self, user_id: int = USER_ID) -> str:
        return self.auth.signer.issue("access", str(user_id), 900)[0]

    async def stop(self) -> None:
        await self.auth_server.stop(0)
        await self.analytics_server.stop(0)


async def start_peers() -> Peers:
    """Both fakes in real ``grpc.aio`` servers on port 0 of this event loop."""
    log = PeerLog()
    auth = FakeAuth(log)
    analytics = FakeAnalytics(log, auth)
    auth_server = build_server(
        [(lambda s: auth_pb2_grpc.add_AuthServiceServicer_to_server(auth, s), AUTH_SERVICE)],
        host="127.0.0.1",
    )
    analytics_server = build_server(
        [
            (
                lambda s: analytics_pb2_grpc.add_AnalyticsServiceServicer_to_server(analytics, s),
                ANALYTICS_SERVICE,
            )
        ],
        host="127.0.0.1",
    )
    await auth_server.start()
    await analytics_server.start()
    return Peers(auth, analytics, log, auth_server, analytics_server)
