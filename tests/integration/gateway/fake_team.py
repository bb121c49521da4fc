"""The team and sharing half of the fake auth service: members from ``GRANTS`` (plus
invites accepted during a test), invites and share links kept in memory, authorized as
the real service does (a role per permission, share tokens refused, a share link's
state checked on every use, its stable refusal messages)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from analyticbot.auth.v1 import auth_pb2
from analyticbot.runtime.errors import (
    DomainError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from analyticbot.runtime.rbac import PERMISSIONS, Permission
from analyticbot.runtime.tokens import Principal, TokenKind, TokenSigner, TokenVerifier
from tests.integration.gateway.fake_data import GRANTS, PeerLog

_SHARE_TOKEN = re.compile(r"shr_[A-Za-z0-9_-]{43}")
MAX_SHARE_LINK_TTL = timedelta(days=30)


@dataclass
class FakeShareLink:
    link: auth_pb2.ShareLink
    token: str


class FakeTeam:
    """Mixed into ``FakeAuth``: the RPCs of members, invites and share links."""

    log: PeerLog
    signer: TokenSigner

    def __init__(self) -> None:
        self.accepted: dict[int, dict[int, auth_pb2.Role]] = {}
        self.removed: set[tuple[int, int]] = set()
        self.invites: dict[int, tuple[auth_pb2.Invite, str]] = {}
        self.share_links: dict[int, FakeShareLink] = {}
        self.max_live_links = 100
        self.now = datetime.now(UTC)

    def principal(self, context: Any, method: str, kinds: tuple[TokenKind, ...]) -> Principal:
        token = self.log.record(method, context)
        return TokenVerifier(self.signer.jwks()).verify(token, kinds=kinds)

    def role_of(self, user_id: int, channel_id: int) -> auth_pb2.Role:
        if (user_id, channel_id) in self.removed:
            return auth_pb2.ROLE_UNSPECIFIED
        granted = GRANTS.get(user_id, {}).get(channel_id, auth_pb2.ROLE_UNSPECIFIED)
        accepted = self.accepted.get(user_id, {}).get(channel_id, auth_pb2.ROLE_UNSPECIFIED)
        return max(granted, accepted)

    def require_live_link(self, principal: Principal) -> None:
        """What ``rbac.require_live_share_link`` does, with the same messages."""
        found = self.share_links.get(int(principal.subject.removeprefix("share:")))
        if found is None or found.link.channel_id != principal.channel_id:
            raise Unauthenticated("share link not found")
        if found.link.HasField("revoked_at"):
            raise Unauthenticated("share link revoked")
        if found.link.expires_at.ToDatetime(UTC) <= datetime.now(UTC):
            raise Unauthenticated("share link expired")

    def _manager(self, context: Any, method: str, channel_id: int, permission: Permission) -> int:
        user_id = self.principal(context, method, ("access",)).user_id
        assert user_id is not None
        role = self.role_of(user_id, channel_id)
        if role == auth_pb2.ROLE_UNSPECIFIED:
            raise NotFound("channel not found")
        if role < int(PERMISSIONS[permission]):
            raise PermissionDenied(f"this role may not {permission.value.replace('_', ' ')}")
        return user_id

    async def ListMembers(self, request: Any, context: Any) -> auth_pb2.ListMembersResponse:
        self._manager(context, "ListMembers", request.channel_id, Permission.MANAGE_MEMBERS)
        users = set(GRANTS) | set(self.accepted)
        members = []
        for user_id in sorted(users):
            role = self.role_of(user_id, request.channel_id)
            if role == auth_pb2.ROLE_UNSPECIFIED:
                continue
            telegram = role >= auth_pb2.ROLE_ADMIN
            member = auth_pb2.Member(
                user_id=user_id,
                first_name=f"User {user_id}",
                role=role,
                source=auth_pb2.GRANT_SOURCE_TELEGRAM if telegram else auth_pb2.GRANT_SOURCE_INVITE,
            )
            member.granted_at.FromDatetime(self.now)
            members.append(member)
        members.sort(key=lambda m: -m.role)
        return auth_pb2.ListMembersResponse(members=members)

    async def RevokeGrant(self, request: Any, context: Any) -> auth_pb2.RevokeGrantResponse:
        self._manager(context, "RevokeGrant", request.channel_id, Permission.MANAGE_MEMBERS)
        role = self.role_of(request.user_id, request.channel_id)
        if role == auth_pb2.ROLE_UNSPECIFIED:
            raise NotFound("member not found")
        if role >= auth_pb2.ROLE_ADMIN:
            raise DomainError("owners and admins follow the channel's administrators in Telegram")
        self.removed.add((request.user_id, request.channel_id))
        return auth_pb2.RevokeGrantResponse(revoked=True)

    async def CreateInvite(self, request: Any, context: Any) -> auth_pb2.CreateInviteResponse:
        user_id = self._manager(
            context, "CreateInvite", request.channel_id, Permission.INVITE_MEMBERS
        )
        if request.role not in (auth_pb2.ROLE_ANALYST, auth_pb2.ROLE_VIEWER):
            raise InvalidArgument("invites grant analyst or viewer")
        valid_for = request.valid_for.ToTimedelta() if request.HasField("valid_for") else None
        invite = auth_pb2.Invite(
            invite_id=len(self.invites) + 1,
            channel_id=request.channel_id,
            role=request.role,
            single_use=request.single_use,
            created_by=user_id,
        )
        invite.created_at.FromDatetime(self.now)
        invite.expires_at.FromDatetime(self.now + (valid_for or timedelta(days=7)))
        payload = "inv_" + secrets.token_urlsafe(24)
        self.invites[invite.invite_id] = (invite, payload)
        return auth_pb2.CreateInviteResponse(invite=invite, start_param=payload)

    async def ListInvites(self, request: Any, context: Any) -> auth_pb2.ListInvitesResponse:
        self._manager(context, "ListInvites", request.channel_id, Permission.INVITE_MEMBERS)
        live = [i for i, _ in self.invites.values() if i.channel_id == request.channel_id]
        return auth_pb2.ListInvitesResponse(invites=live[::-1])

    async def RevokeInvite(self, request: Any, context: Any) -> auth_pb2.RevokeInviteResponse:
        found = self.invites.get(request.invite_id)
        if found is None:
            raise NotFound("invite not found")
        self._manager(context, "RevokeInvite", found[0].channel_id, Permission.INVITE_MEMBERS)
        del self.invites[request.invite_id]
        return auth_pb2.RevokeInviteResponse(revoked=True)

    async def AcceptInvite(self, request: Any, context: Any) -> auth_pb2.AcceptInviteResponse:
        user_id = self.principal(context, "AcceptInvite", ("access",)).user_id
        assert user_id is not None
        found = [i for i, p in self.invites.values() if p == request.start_param]
        if not found:
            raise DomainError("invite is invalid, expired or already used")
        invite = found[0]
        if invite.single_use:
            del self.invites[invite.invite_id]
        role = max(self.role_of(user_id, invite.channel_id), invite.role)
        self.accepted.setdefault(user_id, {})[invite.channel_id] = role
        self.removed.discard((user_id, invite.channel_id))
        return auth_pb2.AcceptInviteResponse(
            channel_id=invite.channel_id, role=role, title=f"Channel {invite.channel_id}"
        )

    async def CreateShareLink(self, request: Any, context: Any) -> auth_pb2.CreateShareLinkResponse:
        user_id = self._manager(
            context, "CreateShareLink", request.channel_id, Permission.MANAGE_SHARE_LINKS
        )
        ttl = request.ttl.ToTimedelta() if request.HasField("ttl") else timedelta(days=7)
        if not timedelta(minutes=1) <= ttl <= MAX_SHARE_LINK_TTL:
            raise InvalidArgument("ttl must be between 60 and 2592000 seconds")
        live = [
            s
            for s in self.share_links.values()
            if s.link.channel_id == request.channel_id and not s.link.HasField("revoked_at")
        ]
        if len(live) >= self.max_live_links:
            raise DomainError(f"a channel has at most {self.max_live_links} live share links")
        now = datetime.now(UTC)
        link = auth_pb2.ShareLink(
            link_id=len(self.share_links) + 1, channel_id=request.channel_id, created_by=user_id
        )
        link.created_at.FromDatetime(now)
        link.expires_at.FromDatetime(now + ttl)
        token = "shr_" + secrets.token_urlsafe(32)
        self.share_links[link.link_id] = FakeShareLink(link=link, token=token)
        return auth_pb2.CreateShareLinkResponse(link=link, token=token)

    async def ListShareLinks(self, request: Any, context: Any) -> auth_pb2.ListShareLinksResponse:
        self._manager(context, "ListShareLinks", request.channel_id, Permission.MANAGE_SHARE_LINKS)
        links = [
            s.link
            for s in self.share_links.values()
            if s.link.channel_id == request.channel_id
            and (request.include_inactive or not s.link.HasField("revoked_at"))
        ]
        return auth_pb2.ListShareLinksResponse(links=links[::-1])

    async def RevokeShareLink(self, request: Any, context: Any) -> auth_pb2.RevokeShareLinkResponse:
        found = self.share_links.get(request.link_id)
        if found is None:
            raise NotFound("share link not found")
        channel_id = found.link.channel_id
        self._manager(context, "RevokeShareLink", channel_id, Permission.MANAGE_SHARE_LINKS)
        if found.link.HasField("revoked_at"):
            return auth_pb2.RevokeShareLinkResponse(revoked=False)
        found.link.revoked_at.FromDatetime(datetime.now(UTC))
        return auth_pb2.RevokeShareLinkResponse(revoked=True)

    async def ExchangeShareLink(
        self, request: Any, context: Any
    ) -> auth_pb2.ExchangeShareLinkResponse:
        self.log.exchanged.append(request.token)
        if not _SHARE_TOKEN.fullmatch(request.token):
            raise Unauthenticated("malformed share link")
        found = [s for s in self.share_links.values() if s.token == request.token]
        if not found:
            raise Unauthenticated("unknown share link")
        link = found[0].link
        if link.HasField("revoked_at"):
            raise Unauthenticated("share link revoked")
        remaining = int((link.expires_at.ToDatetime(UTC) - datetime.now(UTC)).total_seconds())
        if remaining < 1:
            raise Unauthenticated("share link expired")
        token, expires = self.signer.issue(
            "share", f"share:{link.link_id}", min(900, remaining), extra={"cid": link.channel_id}
        )
        response = auth_pb2.ExchangeShareLinkResponse(
            access_token=token,
            channel_id=link.channel_id,
            title=f"Channel {link.channel_id}",
            username="sharedchannel",
        )
        response.access_token_expires_at.FromSeconds(expires)
        response.link_expires_at.CopyFrom(link.expires_at)
        return response
