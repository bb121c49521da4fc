"""Fakes of the gateway's peers at the transport seam: servicers that implement the auth
and analytics protos with fixed data, record the metadata they receive and authorize the
forwarded token themselves. They run in real ``grpc.aio`` servers on port 0.

The real services are tested on their own; a full-stack test covers them together.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import grpc

from analyticbot.analytics.v1 import analytics_pb2_grpc
from analyticbot.auth.v1 import auth_pb2, auth_pb2_grpc
from analyticbot.runtime.errors import InvalidArgument, Unauthenticated
from analyticbot.runtime.grpc_server import GrpcServer, build_server
from analyticbot.runtime.initdata import hmac_hash
from analyticbot.runtime.rbac import PERMISSIONS
from analyticbot.runtime.tokens import SigningKey, TokenSigner, TokenVerifier
from tests.integration.gateway.fake_analytics import FakeAnalytics
from tests.integration.gateway.fake_data import (
    BOT_TOKEN,
    CHANNEL_ID,
    GRANTS,
    MINIMUM_ROLE,
    OTHER_USER_ID,
    PERIOD_END,
    UNKNOWN_CHANNEL_ID,
    USER_ID,
    VIEWER_ONLY_CHANNEL_ID,
    VIEWER_USER_ID,
    VIRAL_POST_ID,
    YOUNG_POST_ID,
    PeerLog,
)

__all__ = [
    "BOT_TOKEN",
    "CHANNEL_ID",
    "GRANTS",
    "MINIMUM_ROLE",
    "OTHER_USER_ID",
    "PERIOD_END",
    "UNKNOWN_CHANNEL_ID",
    "USER_ID",
    "VIEWER_ONLY_CHANNEL_ID",
    "VIEWER_USER_ID",
    "VIRAL_POST_ID",
    "YOUNG_POST_ID",
    "FakeAnalytics",
    "FakeAuth",
    "Peers",
    "start_peers",
]

AUTH_SERVICE = "analyticbot.auth.v1.AuthService"
ANALYTICS_SERVICE = "analyticbot.analytics.v1.AnalyticsService"
REQUIRED_ROLE = {permission.value: int(role) for permission, role in PERMISSIONS.items()}


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
        role = GRANTS.get(user_id, {}).get(request.channel_id, auth_pb2.ROLE_UNSPECIFIED)
        required = max(
            MINIMUM_ROLE.get(request.channel_id, auth_pb2.ROLE_VIEWER),
            REQUIRED_ROLE[request.permission],
        )
        allowed = role != auth_pb2.ROLE_UNSPECIFIED and role >= required
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

    async def CreateShareLink(self, request: Any, context: Any) -> Any:
        return await self._not_used(context)

    async def ExchangeShareLink(self, request: Any, context: Any) -> Any:
        return await self._not_used(context)

    async def ListShareLinks(self, request: Any, context: Any) -> Any:
        return await self._not_used(context)

    async def RevokeShareLink(self, request: Any, context: Any) -> Any:
        return await self._not_used(context)


@dataclass
class Peers:
    auth: FakeAuth
    analytics: FakeAnalytics
    log: PeerLog
    auth_server: GrpcServer
    analytics_server: GrpcServer

    def token(self, user_id: int = USER_ID, *, ttl_seconds: int = 900) -> str:
        return self.auth.signer.issue("access", str(user_id), ttl_seconds)[0]

    async def stop(self) -> None:
        await self.auth_server.stop(0)
        await self.analytics_server.stop(0)


async def start_peers() -> Peers:
    """Both fakes in real ``grpc.aio`` servers on port 0 of this event loop."""
    log = PeerLog()
    auth = FakeAuth(log)
    analytics = FakeAnalytics(log, lambda token: TokenVerifier(auth.signer.jwks()).verify(token))
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
