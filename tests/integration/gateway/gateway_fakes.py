"""Fakes of the gateway's peers at the transport seam: servicers that implement the auth
and analytics protos with fixed data, record the metadata they receive and authorize the
forwarded token themselves. They run in real ``grpc.aio`` servers on port 0.

The real services are tested on their own; a full-stack test covers them together.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
    ADMIN_USER_ID,
    ANALYST_USER_ID,
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
from tests.integration.gateway.fake_team import FakeShareLink, FakeTeam

__all__ = [
    "ADMIN_USER_ID",
    "ANALYST_USER_ID",
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
    "FakeShareLink",
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


class FakeAuth(NotUsed, FakeTeam, auth_pb2_grpc.AuthServiceServicer):
    """Validates initData with the Telegram HMAC rule and issues real EdDSA tokens."""

    def __init__(self, log: PeerLog) -> None:
        FakeTeam.__init__(self)
        self.log = log
        self.signer = TokenSigner([SigningKey.generate()])

    def rotate(self) -> None:
        self.signer = TokenSigner([SigningKey.generate()])

    def _user(self, context: Any, method: str) -> int:
        user_id = self.principal(context, method, ("access",)).user_id
        assert user_id is not None
        return user_id

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
        channels = set(GRANTS.get(user_id, {})) | set(self.accepted.get(user_id, {}))
        return auth_pb2.ListMyChannelsResponse(
            channels=[
                auth_pb2.ChannelAccess(
                    channel_id=cid, title=f"Channel {cid}", role=self.role_of(user_id, cid)
                )
                for cid in sorted(channels)
                if self.role_of(user_id, cid) != auth_pb2.ROLE_UNSPECIFIED
            ]
        )

    async def CheckAccess(self, request: Any, context: Any) -> auth_pb2.CheckAccessResponse:
        principal = self.principal(context, "CheckAccess", ("access", "share"))
        if principal.kind == "share":
            if principal.channel_id != request.channel_id:
                return auth_pb2.CheckAccessResponse(allowed=False)
            self.require_live_link(principal)
            allowed = request.permission == "view_analytics"
            return auth_pb2.CheckAccessResponse(allowed=allowed, role=auth_pb2.ROLE_VIEWER)
        assert principal.user_id is not None
        role = self.role_of(principal.user_id, request.channel_id)
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

    async def ListUserChannels(self, request: Any, context: Any) -> Any:
        return await self._not_used(context)

    async def SyncChannelAdmins(self, request: Any, context: Any) -> Any:
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

    def share_link(self, channel_id: int = CHANNEL_ID) -> FakeShareLink:
        """A live share link to ``channel_id`` for a week, as if an admin made it."""
        link = auth_pb2.ShareLink(
            link_id=len(self.auth.share_links) + 1, channel_id=channel_id, created_by=USER_ID
        )
        now = datetime.now(UTC)
        link.created_at.FromDatetime(now)
        link.expires_at.FromDatetime(now + timedelta(days=7))
        created = FakeShareLink(link=link, token="shr_" + secrets.token_urlsafe(32))
        self.auth.share_links[link.link_id] = created
        return created

    def share_token(self, link: FakeShareLink | None = None, *, ttl_seconds: int = 900) -> str:
        """A share token exchanged from ``link`` (a new live link by default)."""
        link = link or self.share_link()
        subject, cid = f"share:{link.link.link_id}", link.link.channel_id
        return self.auth.signer.issue("share", subject, ttl_seconds, extra={"cid": cid})[0]

    async def stop(self) -> None:
        await self.auth_server.stop(0)
        await self.analytics_server.stop(0)


async def start_peers() -> Peers:
    """Both fakes in real ``grpc.aio`` servers on port 0 of this event loop."""
    log = PeerLog()
    auth = FakeAuth(log)
    analytics = FakeAnalytics(
        log,
        lambda token: TokenVerifier(auth.signer.jwks()).verify(token, kinds=("access", "share")),
        auth.require_live_link,
    )
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
