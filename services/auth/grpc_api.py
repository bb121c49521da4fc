"""The gRPC edge of the auth service: messages in, use cases, messages out.

ExchangeInitData, GetJwks, RefreshTokens, RevokeRefreshToken, IssueServiceToken and
ExchangeShareLink authenticate by what they carry (initData, nothing public, a refresh
token, a service secret, a share link's secret); every other RPC needs
``authorization: Bearer <token>`` in metadata: the bot's service token for
SyncChannelAdmins and ListUserChannels, a user's access token for invites, members and
share links. Domain errors become status codes in the shared interceptor.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import partial
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from analyticbot.auth.v1 import auth_pb2, auth_pb2_grpc
from analyticbot.runtime.errors import InvalidArgument
from analyticbot.runtime.grpc_server import Registrar
from analyticbot.runtime.rbac import Role
from analyticbot.runtime.tokens import Principal, TokenKind, bearer
from services.auth.domain import ChannelAdmin, Invite, IssuedToken, ShareLink, TelegramUser
from services.auth.service import AuthService

Context = grpc.aio.ServicerContext[Any, Any]
SERVICE_NAME = auth_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name

_ROLES: dict[Role, auth_pb2.Role] = {
    Role.VIEWER: auth_pb2.ROLE_VIEWER,
    Role.ANALYST: auth_pb2.ROLE_ANALYST,
    Role.ADMIN: auth_pb2.ROLE_ADMIN,
    Role.OWNER: auth_pb2.ROLE_OWNER,
}


_ROLE_FROM_PB: dict[int, Role] = {int(v): k for k, v in _ROLES.items()}
_SOURCES: dict[str, auth_pb2.GrantSource] = {
    "telegram": auth_pb2.GRANT_SOURCE_TELEGRAM,
    "invite": auth_pb2.GRANT_SOURCE_INVITE,
    "manual": auth_pb2.GRANT_SOURCE_MANUAL,
}


def _role(role: Role | None) -> auth_pb2.Role:
    return _ROLES[role] if role is not None else auth_pb2.ROLE_UNSPECIFIED


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):
    """Translates AuthService RPCs to use cases."""

    def __init__(self, service: AuthService) -> None:
        self._service = service
        self._grants = service.grants

    def _caller(self, context: Context, kinds: tuple[TokenKind, ...]) -> Principal:
        token = bearer(context.invocation_metadata() or ())
        return self._service.authenticate(token, kinds)

    async def ExchangeInitData(
        self, request: auth_pb2.ExchangeInitDataRequest, context: Context
    ) -> auth_pb2.ExchangeInitDataResponse:
        session = await self._service.exchange_init_data(request.init_data)
        assert session.user is not None
        user = session.user
        return auth_pb2.ExchangeInitDataResponse(
            access_token=session.access.token,
            access_token_expires_at=_timestamp(session.access.expires_at),
            user=auth_pb2.TelegramUser(
                user_id=user.id,
                first_name=user.first_name,
                last_name=user.last_name,
                username=user.username,
                language_code=user.language_code,
            ),
            start_param=session.start_param,
            refresh_token=session.refresh.token,
            refresh_token_expires_at=_timestamp(session.refresh.expires_at),
        )

    async def GetJwks(
        self, request: auth_pb2.GetJwksRequest, context: Context
    ) -> auth_pb2.GetJwksResponse:
        return auth_pb2.GetJwksResponse(jwks_json=json.dumps(self._service.jwks()))

    async def ListMyChannels(
        self, request: auth_pb2.ListMyChannelsRequest, context: Context
    ) -> auth_pb2.ListMyChannelsResponse:
        caller = self._caller(context, ("access",))
        channels, superadmin = await self._service.list_my_channels(caller)
        return auth_pb2.ListMyChannelsResponse(
            channels=[
                auth_pb2.ChannelAccess(
                    channel_id=c.channel_id, title=c.title, username=c.username, role=_role(c.role)
                )
                for c in channels
            ],
            superadmin=superadmin,
        )

    async def CheckAccess(
        self, request: auth_pb2.CheckAccessRequest, context: Context
    ) -> auth_pb2.CheckAccessResponse:
        caller = self._caller(context, ("access", "share", "service"))
        decision = await self._service.check_access(caller, request.channel_id, request.permission)
        return auth_pb2.CheckAccessResponse(
            allowed=decision.allowed, role=_role(decision.role), superadmin=decision.superadmin
        )

    async def RefreshTokens(
        self, request: auth_pb2.RefreshTokensRequest, context: Context
    ) -> auth_pb2.RefreshTokensResponse:
        session = await self._service.refresh(request.refresh_token)
        return auth_pb2.RefreshTokensResponse(
            access_token=session.access.token,
            access_token_expires_at=_timestamp(session.access.expires_at),
            refresh_token=session.refresh.token,
            refresh_token_expires_at=_timestamp(session.refresh.expires_at),
        )

    async def RevokeRefreshToken(
        self, request: auth_pb2.RevokeRefreshTokenRequest, context: Context
    ) -> auth_pb2.RevokeRefreshTokenResponse:
        revoked = await self._service.revoke(request.refresh_token)
        return auth_pb2.RevokeRefreshTokenResponse(revoked=revoked)

    async def IssueServiceToken(
        self, request: auth_pb2.IssueServiceTokenRequest, context: Context
    ) -> auth_pb2.IssueServiceTokenResponse:
        issued: IssuedToken = self._service.issue_service_token(request.service, request.secret)
        return auth_pb2.IssueServiceTokenResponse(
            access_token=issued.token, expires_at=_timestamp(issued.expires_at)
        )

    async def SyncChannelAdmins(
        self, request: auth_pb2.SyncChannelAdminsRequest, context: Context
    ) -> auth_pb2.SyncChannelAdminsResponse:
        caller = self._caller(context, ("service",))
        admins = [
            ChannelAdmin(
                user=TelegramUser(
                    id=a.user_id,
                    first_name=a.first_name[:256],
                    last_name=a.last_name[:256],
                    username=a.username[:256],
                ),
                is_creator=a.is_creator,
            )
            for a in request.admins
            if a.user_id > 0
        ]
        result = await self._grants.sync_channel_admins(
            caller, request.channel_id, admins, request.added_by_user_id
        )
        return auth_pb2.SyncChannelAdminsResponse(
            granted=result.granted, removed=result.removed, owner_user_ids=result.owners
        )

    async def ListUserChannels(
        self, request: auth_pb2.ListUserChannelsRequest, context: Context
    ) -> auth_pb2.ListUserChannelsResponse:
        caller = self._caller(context, ("service",))
        channels = await self._grants.list_user_channels(caller, request.user_id)
        return auth_pb2.ListUserChannelsResponse(
            channels=[
                auth_pb2.ChannelAccess(
                    channel_id=c.channel_id, title=c.title, username=c.username, role=_role(c.role)
                )
                for c in channels
            ]
        )

    async def CreateInvite(
        self, request: auth_pb2.CreateInviteRequest, context: Context
    ) -> auth_pb2.CreateInviteResponse:
        caller = self._caller(context, ("access",))
        role = _ROLE_FROM_PB.get(request.role)
        if role is None:
            raise InvalidArgument("role is required")
        valid_for = request.valid_for.ToTimedelta() if request.HasField("valid_for") else None
        created = await self._grants.create_invite(
            caller, request.channel_id, role, request.single_use, valid_for
        )
        return auth_pb2.CreateInviteResponse(
            invite=_invite(created.invite), start_param=created.start_param
        )

    async def AcceptInvite(
        self, request: auth_pb2.AcceptInviteRequest, context: Context
    ) -> auth_pb2.AcceptInviteResponse:
        caller = self._caller(context, ("access",))
        accepted = await self._grants.accept_invite(caller, request.start_param)
        return auth_pb2.AcceptInviteResponse(
            channel_id=accepted.channel_id, role=_role(accepted.role), title=accepted.title
        )

    async def RevokeInvite(
        self, request: auth_pb2.RevokeInviteRequest, context: Context
    ) -> auth_pb2.RevokeInviteResponse:
        caller = self._caller(context, ("access",))
        revoked = await self._grants.revoke_invite(caller, request.invite_id)
        return auth_pb2.RevokeInviteResponse(revoked=revoked)

    async def ListInvites(
        self, request: auth_pb2.ListInvitesRequest, context: Context
    ) -> auth_pb2.ListInvitesResponse:
        caller = self._caller(context, ("access",))
        invites = await self._grants.list_invites(caller, request.channel_id)
        return auth_pb2.ListInvitesResponse(invites=[_invite(i) for i in invites])

    async def ListMembers(
        self, request: auth_pb2.ListMembersRequest, context: Context
    ) -> auth_pb2.ListMembersResponse:
        caller = self._caller(context, ("access",))
        members = await self._grants.list_members(caller, request.channel_id)
        return auth_pb2.ListMembersResponse(
            members=[
                auth_pb2.Member(
                    user_id=m.user_id,
                    first_name=m.first_name,
                    last_name=m.last_name,
                    username=m.username,
                    role=_role(m.role),
                    source=_SOURCES.get(m.source, auth_pb2.GRANT_SOURCE_UNSPECIFIED),
                    granted_at=_timestamp(m.granted_at),
                )
                for m in members
            ]
        )

    async def RevokeGrant(
        self, request: auth_pb2.RevokeGrantRequest, context: Context
    ) -> auth_pb2.RevokeGrantResponse:
        caller = self._caller(context, ("access",))
        revoked = await self._grants.revoke_grant(caller, request.channel_id, request.user_id)
        return auth_pb2.RevokeGrantResponse(revoked=revoked)

    async def CreateShareLink(
        self, request: auth_pb2.CreateShareLinkRequest, context: Context
    ) -> auth_pb2.CreateShareLinkResponse:
        caller = self._caller(context, ("access",))
        ttl = request.ttl.ToTimedelta() if request.HasField("ttl") else None
        created = await self._service.share_links.create(caller, request.channel_id, ttl)
        return auth_pb2.CreateShareLinkResponse(link=_share_link(created.link), token=created.token)

    async def ListShareLinks(
        self, request: auth_pb2.ListShareLinksRequest, context: Context
    ) -> auth_pb2.ListShareLinksResponse:
        caller = self._caller(context, ("access",))
        links = await self._service.share_links.list_links(
            caller, request.channel_id, include_inactive=request.include_inactive
        )
        return auth_pb2.ListShareLinksResponse(links=[_share_link(link) for link in links])

    async def RevokeShareLink(
        self, request: auth_pb2.RevokeShareLinkRequest, context: Context
    ) -> auth_pb2.RevokeShareLinkResponse:
        caller = self._caller(context, ("access",))
        revoked = await self._service.share_links.revoke(caller, request.link_id)
        return auth_pb2.RevokeShareLinkResponse(revoked=revoked)

    async def ExchangeShareLink(
        self, request: auth_pb2.ExchangeShareLinkRequest, context: Context
    ) -> auth_pb2.ExchangeShareLinkResponse:
        shared = await self._service.share_links.exchange(request.token)
        return auth_pb2.ExchangeShareLinkResponse(
            access_token=shared.access.token,
            access_token_expires_at=_timestamp(shared.access.expires_at),
            channel_id=shared.link.channel_id,
            title=shared.title,
            username=shared.username,
            link_expires_at=_timestamp(shared.link.expires_at),
        )


def _share_link(link: ShareLink) -> auth_pb2.ShareLink:
    message = auth_pb2.ShareLink(
        link_id=link.id,
        channel_id=link.channel_id,
        created_by=link.created_by or 0,
        created_at=_timestamp(link.created_at),
        expires_at=_timestamp(link.expires_at),
    )
    if link.revoked_at is not None:
        message.revoked_at.CopyFrom(_timestamp(link.revoked_at))
    if link.last_used_at is not None:
        message.last_used_at.CopyFrom(_timestamp(link.last_used_at))
    return message


def _invite(invite: Invite) -> auth_pb2.Invite:
    return auth_pb2.Invite(
        invite_id=invite.id,
        channel_id=invite.channel_id,
        role=_role(invite.role),
        single_use=invite.single_use,
        expires_at=_timestamp(invite.expires_at),
        created_at=_timestamp(invite.created_at),
        created_by=invite.created_by or 0,
        uses=invite.uses,
    )


def registrar(service: AuthService) -> tuple[Registrar, str]:
    """The (registrar, full service name) pair that ``build_server`` takes."""
    servicer = AuthServicer(service)
    return partial(auth_pb2_grpc.add_AuthServiceServicer_to_server, servicer), SERVICE_NAME
