"""Types and errors of the auth service."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import grpc

from analyticbot.runtime.errors import DomainError, InvalidArgument, NotFound, Unauthenticated
from analyticbot.runtime.rbac import Role


class RefreshTokenRejected(Unauthenticated):
    """The refresh token is unknown, expired, revoked or was already used."""


class ServiceCredentialsRejected(Unauthenticated):
    """A service presented an unknown name or a wrong secret."""


class UnknownPermission(InvalidArgument):
    """A permission name that is not in the permission table."""


class LaunchWithoutUser(InvalidArgument):
    """A valid initData that names no usable user."""


@dataclass(frozen=True)
class TelegramUser:
    """The Telegram user a launch was signed for."""

    id: int
    first_name: str = ""
    last_name: str = ""
    username: str = ""
    language_code: str = ""

    @classmethod
    def from_init_data(cls, user: Mapping[str, Any] | None) -> TelegramUser:
        """Read the signed ``user`` object; its id must be a positive integer."""
        if user is None:
            raise LaunchWithoutUser("initData has no user")
        user_id = user.get("id")
        if type(user_id) is not int or user_id <= 0:
            raise LaunchWithoutUser("initData user has no valid id")

        def text(name: str) -> str:
            value = user.get(name)
            return value[:256] if isinstance(value, str) else ""

        return cls(
            id=user_id,
            first_name=text("first_name"),
            last_name=text("last_name"),
            username=text("username"),
            language_code=text("language_code"),
        )


@dataclass(frozen=True)
class IssuedToken:
    """A token and when it stops being accepted."""

    token: str
    expires_at: datetime


@dataclass(frozen=True)
class Session:
    """What a login or a refresh hands back."""

    access: IssuedToken
    refresh: IssuedToken
    user: TelegramUser | None = None
    start_param: str = ""


@dataclass(frozen=True)
class ChannelAccess:
    """A channel the caller may see and the caller's (effective) role on it."""

    channel_id: int
    title: str
    username: str
    role: Role


@dataclass(frozen=True)
class AccessDecision:
    """The answer of CheckAccess."""

    allowed: bool
    role: Role | None
    superadmin: bool


@dataclass(frozen=True)
class StoredRefreshToken:
    """A refresh token row, locked for update while a rotation decides."""

    id: int
    family_id: str
    user_id: int
    expires_at: datetime
    rotated: bool
    revoked: bool


class InviteUnusable(DomainError):
    """The invite is unknown, revoked, expired or already used."""

    status = grpc.StatusCode.FAILED_PRECONDITION


class GrantNotRevocable(DomainError):
    """Owner and admin grants follow Telegram's administrator list, not RevokeGrant."""

    status = grpc.StatusCode.FAILED_PRECONDITION


class ChannelNotRegistered(NotFound):
    """The channel is not tracked (the collector registers it first)."""


@dataclass(frozen=True)
class ChannelAdmin:
    """An administrator of a channel as the Bot API reports it."""

    user: TelegramUser
    is_creator: bool = False


@dataclass(frozen=True)
class SyncResult:
    """What SyncChannelAdmins changed."""

    granted: int
    removed: int
    owners: tuple[int, ...]


@dataclass(frozen=True)
class Invite:
    """A link that grants analyst or viewer on one channel."""

    id: int
    channel_id: int
    role: Role
    single_use: bool
    expires_at: datetime
    created_at: datetime
    created_by: int | None
    uses: int


@dataclass(frozen=True)
class Member:
    """A user holding a grant on a channel."""

    user_id: int
    first_name: str
    last_name: str
    username: str
    role: Role
    source: str
    granted_at: datetime


class ShareLinkRejected(Unauthenticated):
    """The share link is unknown, revoked or expired."""


class TooManyShareLinks(DomainError):
    """The channel already has as many live share links as allowed."""

    status = grpc.StatusCode.FAILED_PRECONDITION


@dataclass(frozen=True)
class ShareLink:
    """A read-only link to one channel's analytics; its secret is never stored."""

    id: int
    channel_id: int
    created_by: int | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class SharedChannel:
    """What exchanging a share link hands back."""

    access: IssuedToken
    link: ShareLink
    title: str
    username: str
