"""gRPC client of the auth calls behind team management and sharing: members, invites,
share links and the exchange of a share link (the login and access checks are in
``peers``).

Every call carries the RPC deadline and, but for the exchange, forwards the caller's
token: auth authorizes each one itself. A failed call raises ``APIError``; ``codes``
name what NOT_FOUND and FAILED_PRECONDITION mean at each call site.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TypeVar

import grpc
from google.protobuf.message import Message

from analyticbot.auth.v1 import auth_pb2
from gateway.errors import from_grpc

Resp = TypeVar("Resp", bound=Message)

_SERVICE = auth_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name
Codes = Mapping[grpc.StatusCode, str]
CHANNEL = {grpc.StatusCode.NOT_FOUND: "CHANNEL_NOT_FOUND"}
MEMBER = {
    grpc.StatusCode.NOT_FOUND: "MEMBER_NOT_FOUND",
    grpc.StatusCode.FAILED_PRECONDITION: "GRANT_NOT_REVOCABLE",
}
INVITE = {grpc.StatusCode.NOT_FOUND: "INVITE_NOT_FOUND"}
ACCEPT = {grpc.StatusCode.FAILED_PRECONDITION: "INVITE_UNUSABLE"}
NEW_SHARE_LINK = {
    grpc.StatusCode.NOT_FOUND: "CHANNEL_NOT_FOUND",
    grpc.StatusCode.FAILED_PRECONDITION: "TOO_MANY_SHARE_LINKS",
}
SHARE_LINK = {grpc.StatusCode.NOT_FOUND: "SHARE_LINK_NOT_FOUND"}


class TeamPeer:
    """Members, invites and share links, as the auth service keeps them."""

    def __init__(self, channel: grpc.aio.Channel, *, deadline_seconds: float) -> None:
        self._channel = channel
        self._deadline = deadline_seconds

    async def _call(
        self,
        name: str,
        request: Message,
        response: type[Resp],
        *,
        token: str | None,
        codes: Codes,
    ) -> Resp:
        method: grpc.aio.UnaryUnaryMultiCallable[Message, Resp] = self._channel.unary_unary(
            f"/{_SERVICE}/{name}",
            request_serializer=type(request).SerializeToString,
            response_deserializer=response.FromString,
        )
        metadata = (("authorization", f"Bearer {token}"),) if token is not None else None
        try:
            return await method(request, timeout=self._deadline, metadata=metadata)
        except grpc.aio.AioRpcError as exc:
            raise from_grpc(exc, codes=codes) from None

    async def list_members(self, token: str, channel_id: int) -> auth_pb2.ListMembersResponse:
        request = auth_pb2.ListMembersRequest(channel_id=channel_id)
        return await self._call(
            "ListMembers", request, auth_pb2.ListMembersResponse, token=token, codes=CHANNEL
        )

    async def revoke_grant(self, token: str, channel_id: int, user_id: int) -> bool:
        request = auth_pb2.RevokeGrantRequest(channel_id=channel_id, user_id=user_id)
        response = await self._call(
            "RevokeGrant", request, auth_pb2.RevokeGrantResponse, token=token, codes=MEMBER
        )
        return response.revoked

    async def create_invite(
        self,
        token: str,
        channel_id: int,
        role: auth_pb2.Role,
        single_use: bool,
        valid_for: timedelta | None,
    ) -> auth_pb2.CreateInviteResponse:
        request = auth_pb2.CreateInviteRequest(
            channel_id=channel_id, role=role, single_use=single_use
        )
        if valid_for is not None:
            request.valid_for.FromTimedelta(valid_for)
        return await self._call(
            "CreateInvite", request, auth_pb2.CreateInviteResponse, token=token, codes=CHANNEL
        )

    async def list_invites(self, token: str, channel_id: int) -> auth_pb2.ListInvitesResponse:
        request = auth_pb2.ListInvitesRequest(channel_id=channel_id)
        return await self._call(
            "ListInvites", request, auth_pb2.ListInvitesResponse, token=token, codes=CHANNEL
        )

    async def revoke_invite(self, token: str, invite_id: int) -> bool:
        request = auth_pb2.RevokeInviteRequest(invite_id=invite_id)
        response = await self._call(
            "RevokeInvite", request, auth_pb2.RevokeInviteResponse, token=token, codes=INVITE
        )
        return response.revoked

    async def accept_invite(self, token: str, payload: str) -> auth_pb2.AcceptInviteResponse:
        request = auth_pb2.AcceptInviteRequest(start_param=payload)
        return await self._call(
            "AcceptInvite", request, auth_pb2.AcceptInviteResponse, token=token, codes=ACCEPT
        )

    async def create_share_link(
        self, token: str, channel_id: int, ttl: timedelta | None
    ) -> auth_pb2.CreateShareLinkResponse:
        request = auth_pb2.CreateShareLinkRequest(channel_id=channel_id)
        if ttl is not None:
            request.ttl.FromTimedelta(ttl)
        return await self._call(
            "CreateShareLink",
            request,
            auth_pb2.CreateShareLinkResponse,
            token=token,
            codes=NEW_SHARE_LINK,
        )

    async def list_share_links(
        self, token: str, channel_id: int, *, include_inactive: bool
    ) -> auth_pb2.ListShareLinksResponse:
        request = auth_pb2.ListShareLinksRequest(
            channel_id=channel_id, include_inactive=include_inactive
        )
        return await self._call(
            "ListShareLinks", request, auth_pb2.ListShareLinksResponse, token=token, codes=CHANNEL
        )

    async def revoke_share_link(self, token: str, link_id: int) -> bool:
        request = auth_pb2.RevokeShareLinkRequest(link_id=link_id)
        response = await self._call(
            "RevokeShareLink",
            request,
            auth_pb2.RevokeShareLinkResponse,
            token=token,
            codes=SHARE_LINK,
        )
        return response.revoked

    async def exchange_share_link(self, secret: str) -> auth_pb2.ExchangeShareLinkResponse:
        """No caller token: the link's secret is the credential. Its refusals become
        ``SHARE_LINK_*`` codes in ``errors.from_grpc``."""
        request = auth_pb2.ExchangeShareLinkRequest(token=secret)
        return await self._call(
            "ExchangeShareLink",
            request,
            auth_pb2.ExchangeShareLinkResponse,
            token=None,
            codes={},
        )
