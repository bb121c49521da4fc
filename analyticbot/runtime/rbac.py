"""Roles and permissions: the one permission table, used by the gateway and every service.

Per channel roles are ordered owner > admin > analyst > viewer. Superadmins (from
configuration) may do everything everywhere. A role is read from the ``grants`` table,
or from the services' grant cache (``analyticbot.runtime.grant_cache``), which forgets a
role as soon as PostgreSQL announces its change, so a change takes effect within
milliseconds of its commit, not at token expiry.

Share tokens (``typ`` "share", ``sub`` "share:<link id>", claim ``cid``) hold only
``SHARE_PERMISSIONS`` on their one channel. Within that scope their link is read back
from ``share_links`` on every request (one primary-key lookup), so revoking a link takes
effect on the next request, not when the token expires.
"""

from __future__ import annotations

import enum
from typing import Protocol, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from analyticbot.runtime.errors import NotFound, PermissionDenied, Unauthenticated
from analyticbot.runtime.tokens import Principal

# A connection of its own or one borrowed from a pool.
Connection: TypeAlias = asyncpg.Connection | PoolConnectionProxy


class Role(enum.IntEnum):
    VIEWER = 1
    ANALYST = 2
    ADMIN = 3
    OWNER = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Role:
        return cls[text.upper()]


class Permission(enum.StrEnum):
    VIEW_ANALYTICS = "view_analytics"
    EXPORT_DATA = "export_data"
    MANAGE_ALERTS = "manage_alerts"
    MANAGE_SHARE_LINKS = "manage_share_links"
    INVITE_MEMBERS = "invite_members"
    MANAGE_MEMBERS = "manage_members"
    MANAGE_CHANNEL = "manage_channel"


# The minimum role that holds each permission.
PERMISSIONS: dict[Permission, Role] = {
    Permission.VIEW_ANALYTICS: Role.VIEWER,
    Permission.EXPORT_DATA: Role.ANALYST,
    Permission.MANAGE_ALERTS: Role.ANALYST,
    Permission.MANAGE_SHARE_LINKS: Role.ADMIN,
    Permission.INVITE_MEMBERS: Role.ADMIN,
    Permission.MANAGE_MEMBERS: Role.ADMIN,
    Permission.MANAGE_CHANNEL: Role.OWNER,
}

# What a read-only share link may do.
SHARE_PERMISSIONS = frozenset({Permission.VIEW_ANALYTICS})
# The subject of a share token: "share:<link id>".
SHARE_SUBJECT_PREFIX = "share:"


def allows(role: Role | None, permission: Permission) -> bool:
    return role is not None and role >= PERMISSIONS[permission]


async def role_of(conn: Connection, user_id: int, channel_id: int) -> Role | None:
    row = await conn.fetchval(
        "SELECT role FROM grants WHERE user_id = $1 AND channel_id = $2", user_id, channel_id
    )
    return Role.parse(row) if row is not None else None


class GrantSource(Protocol):
    """Where roles and share links are read from: a connection (``authorize`` wraps
    one), or ``analyticbot.runtime.grant_cache.GrantCache``."""

    async def role(self, user_id: int, channel_id: int) -> Role | None: ...

    async def require_live_share_link(self, principal: Principal) -> None: ...


class _ConnectionGrants:
    __slots__ = ("conn",)

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def role(self, user_id: int, channel_id: int) -> Role | None:
        return await role_of(self.conn, user_id, channel_id)

    async def require_live_share_link(self, principal: Principal) -> None:
        await require_live_share_link(self.conn, principal)


async def authorize(
    source: Connection | GrantSource,
    principal: Principal,
    channel_id: int,
    permission: Permission,
    *,
    superadmins: frozenset[int] = frozenset(),
    trusted_services: frozenset[str] = frozenset(),
) -> None:
    """Raise unless ``principal`` may use ``permission`` on ``channel_id``.

    A user without any grant on the channel gets NotFound, not PermissionDenied, so that
    probing ids tells nothing about which channels exist. ``source`` is a connection
    (read there, e.g. inside the transaction that is about to change grants) or a
    ``GrantSource`` such as the services' grant cache.
    """
    grants = (
        _ConnectionGrants(source)
        if isinstance(source, asyncpg.Connection | PoolConnectionProxy)
        else source
    )
    if principal.kind == "service":
        if principal.service in trusted_services:
            return
        raise PermissionDenied(f"service {principal.service} may not do this")
    if principal.kind == "share":
        if principal.channel_id != channel_id or permission not in SHARE_PERMISSIONS:
            raise NotFound("channel not found")
        await grants.require_live_share_link(principal)
        return
    assert principal.user_id is not None
    if principal.user_id in superadmins:
        return
    role = await grants.role(principal.user_id, channel_id)
    if role is None:
        raise NotFound("channel not found")
    if not allows(role, permission):
        action = permission.value.replace("_", " ")
        raise PermissionDenied(f"the {role.label} role may not {action}")


def share_link_id(principal: Principal) -> int:
    """The share link a share token was exchanged from (its ``sub``), or Unauthenticated."""
    digits = principal.subject.removeprefix(SHARE_SUBJECT_PREFIX)
    if (
        principal.kind != "share"
        or not principal.subject.startswith(SHARE_SUBJECT_PREFIX)
        or not (digits.isascii() and digits.isdigit() and len(digits) <= 18)
    ):
        raise Unauthenticated("invalid share token subject")
    return int(digits)


async def require_live_share_link(conn: Connection, principal: Principal) -> None:
    """Raise Unauthenticated unless the share token's link exists for its channel and is
    neither revoked nor expired (the database's clock decides)."""
    row = await conn.fetchrow(
        """SELECT revoked_at IS NOT NULL AS revoked, expires_at <= now() AS expired
           FROM share_links WHERE id = $1 AND channel_id = $2""",
        share_link_id(principal),
        principal.channel_id,
    )
    if row is None:
        raise Unauthenticated("share link not found")
    if row["revoked"]:
        raise Unauthenticated("share link revoked")
    if row["expired"]:
        raise Unauthenticated("share link expired")
