"""Auth messages of members, invites and share links → API models, and the links handed
out. Pure functions, no I/O."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from analyticbot.auth.v1 import auth_pb2
from gateway.api import team_schemas as ts
from gateway.api.mapping import role, timestamp
from gateway.security import SHARE_PAGE_PATH

_SOURCES: dict[int, ts.GrantSourceName] = {
    auth_pb2.GRANT_SOURCE_TELEGRAM: "telegram",
    auth_pb2.GRANT_SOURCE_INVITE: "invite",
    auth_pb2.GRANT_SOURCE_MANUAL: "manual",
}
INVITABLE_ROLES: dict[str, auth_pb2.Role] = {
    "analyst": auth_pb2.ROLE_ANALYST,
    "viewer": auth_pb2.ROLE_VIEWER,
}


def member(message: auth_pb2.Member) -> ts.Member:
    """``revocable`` follows the auth service's rule: only grants below admin that did
    not come from Telegram's administrator list can be revoked here."""
    return ts.Member(
        user_id=message.user_id,
        first_name=message.first_name,
        last_name=message.last_name,
        username=message.username,
        role=role(message.role),
        source=_SOURCES.get(message.source),
        granted_at=timestamp(message.granted_at),
        revocable=(
            message.role in (auth_pb2.ROLE_VIEWER, auth_pb2.ROLE_ANALYST)
            and message.source != auth_pb2.GRANT_SOURCE_TELEGRAM
        ),
    )


def invite(message: auth_pb2.Invite) -> ts.Invite:
    return ts.Invite(
        invite_id=message.invite_id,
        channel_id=message.channel_id,
        role=role(message.role),
        single_use=message.single_use,
        expires_at=timestamp(message.expires_at),
        created_at=timestamp(message.created_at),
        created_by=message.created_by or None,
        uses=message.uses,
    )


def invite_url(bot_username: str, app_short_name: str, payload: str) -> str | None:
    """The t.me link that opens the Mini App with ``payload`` as its start_param, when
    both names are known (a bare t.me/<bot>?startapp needs a main Mini App, which a bot
    may not have)."""
    if not (bot_username and app_short_name):
        return None
    query = urlencode({"startapp": payload})
    return f"https://t.me/{bot_username}/{app_short_name}?{query}"


def share_link(message: auth_pb2.ShareLink, now: datetime) -> ts.ShareLink:
    """``status`` from the link's own times: revoked wins over expired."""
    expires_at = timestamp(message.expires_at)
    revoked_at = timestamp(message.revoked_at) if message.HasField("revoked_at") else None
    last_used = timestamp(message.last_used_at) if message.HasField("last_used_at") else None
    status: ts.ShareLinkStatus = "active"
    if revoked_at is not None:
        status = "revoked"
    elif expires_at <= now:
        status = "expired"
    return ts.ShareLink(
        link_id=message.link_id,
        channel_id=message.channel_id,
        created_by=message.created_by or None,
        created_at=timestamp(message.created_at),
        expires_at=expires_at,
        revoked_at=revoked_at,
        last_used_at=last_used,
        status=status,
    )


def share_url(origin: str, token: str) -> str:
    """``<origin>/s#<token>``: the token rides the fragment, which browsers never send to
    a server nor put in a Referer."""
    return f"{origin.rstrip('/')}{SHARE_PAGE_PATH}#{token}"


def share_session(response: auth_pb2.ExchangeShareLinkResponse) -> ts.ShareSession:
    return ts.ShareSession(
        access_token=response.access_token,
        expires_at=timestamp(response.access_token_expires_at),
        channel_id=response.channel_id,
        channel=ts.SharedChannel(
            channel_id=response.channel_id, title=response.title, username=response.username
        ),
        link_expires_at=timestamp(response.link_expires_at),
    )
