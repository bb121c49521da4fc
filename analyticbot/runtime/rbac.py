"""Roles and permissions: the one permission table, used by the gateway and every service.

Per channel roles are ordered owner > admin > analyst > viewer. Superadmins (from
configuration) may do everything everywhere. A role is looked up on every request from
the ``grants`` table, so a change takes effect on the next request, not at token expiry.
"""

from __future__ import annotations

import enum
from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from analyticbot.runtime.errors import NotFound, PermissionDenied
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


def allows(role: Role | None, permission: Permission) -> bool:
    return role is not None and role >= PERMISSIONS[permission]


async def role_of(conn: Connection, user_id: int, channel_id: int) -> Role | None:
    row = await conn.fetchval(
        "SELECT role FROM grants WHERE user_id = $1 AND channel_id = $2", user_id, channel_id
    )
    return Role.parse(row) if row is not None else None


async def authorize(
    conn: Connection,
    principal: Principal,
    channel_id: int,
    permission: Permission,
    *,
    superadmins: frozenset[int] = frozenset(),
    trusted_services: frozenset[str] = frozenset(),
) -> None:
    """Raise unless ``principal`` may use ``permission`` on ``channel_id``.

    A user without any grant on the channel gets NotFound, not PermissionDenied, so that
    probing ids tells nothing about which channels exist.
    """
    if principal.kind == "service":
        if principal.service in trusted_services:
            return
        raise PermissionDenied(f"service {principal.service} may not do this")
    if principal.kind == "share":
        if principal.channel_id == channel_id and permission in SHARE_PERMISSIONS:
            return
        raise NotFound("channel not found")
    assert principal.user_id is not None
    if principal.user_id in superadmins:
        return
    role = await role_of(conn, principal.user_id, channel_id)
    if role is None:
        raise NotFound("channel not found")
    if not allows(role, permission):
        action = permission.value.replace("_", " ")
        raise PermissionDenied(f"the {role.label} role may not {action}")
