"""Request and response models of members, invites and share links."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from gateway.api.schemas import RoleName

GrantSourceName = Literal["telegram", "invite", "manual"]
InvitableRole = Literal["analyst", "viewer"]
ShareLinkStatus = Literal["active", "revoked", "expired"]
MAX_INVITE_SECONDS = 30 * 24 * 3600
# The auth service enforces its configured maximum (30 days unless configured); this
# bound only keeps absurd values out.
MAX_SHARE_LINK_SECONDS = 366 * 24 * 3600


class Revoked(BaseModel):
    """The answer of a DELETE that revokes something."""

    revoked: bool = Field(description="True when it was live and is now revoked.")


class Member(BaseModel):
    user_id: int
    first_name: str
    last_name: str
    username: str
    role: RoleName
    source: GrantSourceName | None = Field(
        description="Where the grant came from; null when unknown to this gateway."
    )
    granted_at: datetime
    revocable: bool = Field(
        description="False for owners, admins and Telegram administrators: those follow "
        "the channel's administrators in Telegram."
    )


class MemberList(BaseModel):
    members: list[Member]


class NewInvite(BaseModel):
    """An invite to create; it grants ``role`` to whoever opens it."""

    role: InvitableRole
    single_use: bool = Field(default=False, description="True: the first acceptance uses it up.")
    valid_for_seconds: int | None = Field(
        default=None,
        ge=60,
        le=MAX_INVITE_SECONDS,
        description="How long it works; null or absent: 7 days.",
    )


class Invite(BaseModel):
    invite_id: int
    channel_id: int
    role: RoleName
    single_use: bool
    expires_at: datetime
    created_at: datetime
    created_by: int | None
    uses: int


class InviteList(BaseModel):
    invites: list[Invite]


class CreatedInvite(BaseModel):
    """The invite and its secret payload, shown this once."""

    invite: Invite
    payload: str = Field(description="The Mini App startapp payload, inv_...")
    url: str | None = Field(
        description="https://t.me/<bot>/<app>?startapp=<payload>, or null when the "
        "gateway does not know the bot's username and the Mini App's short name."
    )


class AcceptInvite(BaseModel):
    payload: str = Field(
        min_length=1, max_length=64, description="The startapp payload of the invite, inv_..."
    )


class AcceptedInvite(BaseModel):
    channel_id: int
    role: RoleName = Field(description="The caller's role now (a higher one is kept).")
    title: str


class NewShareLink(BaseModel):
    ttl_seconds: int | None = Field(
        default=None,
        ge=60,
        le=MAX_SHARE_LINK_SECONDS,
        description="How long the link works; null or absent: 7 days. At most the "
        "configured maximum (30 days by default).",
    )


class ShareLinksQuery(BaseModel):
    include_inactive: bool = Field(
        default=False, description="Also the 100 most recent revoked or expired links."
    )


class ShareLink(BaseModel):
    link_id: int
    channel_id: int
    created_by: int | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    status: ShareLinkStatus


class ShareLinkList(BaseModel):
    links: list[ShareLink]


class CreatedShareLink(BaseModel):
    """The link and its secret, shown this once (only a hash is stored)."""

    link: ShareLink
    token: str = Field(description="shr_ and 43 URL-safe characters.")
    url: str = Field(description="<public origin>/s#<token>: the link to hand out.")


class ShareExchange(BaseModel):
    token: str = Field(min_length=1, max_length=64, description="The share link's shr_... token.")


class SharedChannel(BaseModel):
    channel_id: int
    title: str
    username: str


class ShareSession(BaseModel):
    """A read-only token for one channel; exchange the link again when it expires."""

    access_token: str
    expires_at: datetime
    channel_id: int
    channel: SharedChannel
    link_expires_at: datetime
