"""SQL of the auth service: users, grants (read), refresh tokens.

Every function takes a connection; the use case owns the transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from analyticbot.runtime.rbac import Connection, Role
from services.auth.domain import ChannelAccess, StoredRefreshToken, TelegramUser


async def upsert_user(conn: Connection, user: TelegramUser, seen_at: datetime) -> None:
    """Create the user or refresh their profile from the latest signed launch."""
    await conn.execute(
        """INSERT INTO users (id, first_name, last_name, username, language_code, last_seen_at)
           VALUES ($1, $2, $3, NULLIF($4, ''), NULLIF($5, ''), $6)
           ON CONFLICT (id) DO UPDATE SET
               first_name = EXCLUDED.first_name,
               last_name = EXCLUDED.last_name,
               username = EXCLUDED.username,
               language_code = EXCLUDED.language_code,
               last_seen_at = EXCLUDED.last_seen_at""",
        user.id,
        user.first_name,
        user.last_name,
        user.username,
        user.language_code,
        seen_at,
    )


async def granted_channels(conn: Connection, user_id: int) -> list[ChannelAccess]:
    """The channels ``user_id`` holds a grant on, ordered by title."""
    rows = await conn.fetch(
        """SELECT c.id, c.title, coalesce(c.username, '') AS username, g.role
           FROM grants g JOIN channels c ON c.id = g.channel_id
           WHERE g.user_id = $1
           ORDER BY c.title, c.id""",
        user_id,
    )
    return [_channel(row, Role.parse(row["role"])) for row in rows]


async def all_channels(conn: Connection, user_id: int) -> list[ChannelAccess]:
    """Every channel (superadmins), with the user's own grant or OWNER where none."""
    rows = await conn.fetch(
        """SELECT c.id, c.title, coalesce(c.username, '') AS username, g.role
           FROM channels c LEFT JOIN grants g ON g.channel_id = c.id AND g.user_id = $1
           ORDER BY c.title, c.id""",
        user_id,
    )
    return [_channel(row, Role.parse(row["role"]) if row["role"] else Role.OWNER) for row in rows]


def _channel(row: asyncpg.Record, role: Role) -> ChannelAccess:
    return ChannelAccess(
        channel_id=row["id"], title=row["title"], username=row["username"], role=role
    )


async def insert_refresh_token(
    conn: Connection,
    *,
    token_hash: bytes,
    family_id: str,
    user_id: int,
    expires_at: datetime,
) -> None:
    """Store a new refresh token (its hash) in ``family_id``."""
    await conn.execute(
        """INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at)
           VALUES ($1, $2, $3, $4)""",
        token_hash,
        uuid.UUID(family_id),
        user_id,
        expires_at,
    )


async def lock_refresh_token(conn: Connection, token_hash: bytes) -> StoredRefreshToken | None:
    """The token with this hash, locked until the transaction ends; None if unknown."""
    row = await conn.fetchrow(
        """SELECT id, family_id, user_id, expires_at,
                  rotated_at IS NOT NULL AS rotated, revoked_at IS NOT NULL AS revoked
           FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE""",
        token_hash,
    )
    if row is None:
        return None
    return StoredRefreshToken(
        id=row["id"],
        family_id=str(row["family_id"]),
        user_id=row["user_id"],
        expires_at=row["expires_at"],
        rotated=row["rotated"],
        revoked=row["revoked"],
    )


async def mark_rotated(conn: Connection, token_id: int, at: datetime) -> None:
    """Spend a refresh token: it may never be exchanged again."""
    await conn.execute("UPDATE refresh_tokens SET rotated_at = $2 WHERE id = $1", token_id, at)


async def revoke_family(conn: Connection, family_id: str, at: datetime) -> int:
    """Revoke every live token of a family; returns how many were live."""
    status = await conn.execute(
        """UPDATE refresh_tokens SET revoked_at = $2
           WHERE family_id = $1 AND revoked_at IS NULL""",
        uuid.UUID(family_id),
        at,
    )
    return int(status.rsplit(" ", 1)[-1])
